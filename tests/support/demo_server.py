"""A throwaway celltypes server over a fresh copy of the demo set, for the browser and AllenSDK tests and the
benchmarks: a temporary SQLite database and file store, `migrate` + `load_demo`, then runserver or gunicorn on a
free loopback port, stopped on exit. Also the one place that says how Debian's chromium is launched headless.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EAGER_CELERY = {"CELERY_TASK_ALWAYS_EAGER": "1", "CELERY_BROKER_URL": "memory://"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class DemoServer:
    url: str
    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / "db.sqlite3"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(self.db_path) as connection:
            return connection.execute(query, params).fetchall()

    def local_file(self, file_id: int) -> Path:
        return self.data_dir / "well_known_files" / str(file_id)


def demo_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a server (or manage.py command) over the database and file store under `root`."""
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
        "CELLTYPES_DATA_DIR": str(root / "data"),
        "DJANGO_SETTINGS_MODULE": "celltypes.settings",
        "DJANGO_DEBUG": "False",
        "LOG_LEVEL": "WARNING",
        # Served as in production: hashed, compressed static files collected under `root` (build_demo_database).
        "DJANGO_STATIC_MANIFEST": "1",
        "DJANGO_STATIC_ROOT": str(root / "static"),
        **extra,
    }


def build_demo_database(env: dict[str, str]) -> None:
    """`migrate` + `load_demo` into the database `env` names, `collectstatic` into its static root; RuntimeError with
    the command's output on failure."""
    for command in (["migrate", "--noinput", "-v0"], ["load_demo", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        done = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *command],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(command)} failed:\n{done.stderr[-3000:]}")


@contextmanager
def serve(env: dict[str, str], log_path: Path, *, server: str = "runserver", timeout: float = 60) -> Iterator[str]:
    """Serve with `runserver` (one process, eager-friendly) or `gunicorn` (2 workers x 4 threads); yield the URL."""
    port = free_port()
    if server == "gunicorn":
        args = ["-m", "gunicorn", "celltypes.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "4"]
    else:
        args = [str(REPO / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"]
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{url}/", timeout=2).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{server} did not answer:\n{log_path.read_text()[-3000:]}") from None
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def demo_server(root: Path, *, server: str = "runserver", **extra_env: str) -> Iterator[DemoServer]:
    """Build the demo database under `root` (unless it is there already) and serve it."""
    root.mkdir(parents=True, exist_ok=True)
    env = demo_env(root, **extra_env)
    if not (root / "db.sqlite3").exists():
        build_demo_database(env)
    with serve(env, root / "server.log", server=server) as url:
        yield DemoServer(url, root)
