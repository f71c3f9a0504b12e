"""Instance to instance: a celltypes server loaded with the demo set is the upstream; an empty instance (migrated,
nothing loaded, its own SQLite file and file store) runs `manage.py sync_upstream --all` against it over HTTP, through
a fault proxy (tests/support/fault_proxy.py) that counts every page and can drop, fail, garble, cut short or hang.

Afterwards every table the site and the SDK use is compared row by row with the upstream's (tests/support/
table_compare.py), and files fetched on demand through the local download URL are compared byte for byte.

The fault tests start from a *previous state*: a complete copy made stale by hand (a renamed specimen, a changed
feature, three sweeps missing, a structure the upstream no longer lists; synthetic edits of real rows), so that
"previous state kept" and "changed records replaced, unlisted ones retired" can both be seen. Pages are small
(PAGE_SIZE rows), so a fault placed at the middle request lands mid-way through the run.

One upstream server and one local server for the module; every sync is a subprocess with bounded time.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from celltypes.sync.models import SyncRun
from tests.support.demo_server import EAGER_CELERY, REPO, DemoServer, demo_env, demo_server, serve
from tests.support.fault_proxy import FaultProxy, fault_proxy
from tests.support.table_compare import compare_databases, report, row_counts

pytestmark = pytest.mark.slow

# ---- the engine's interface (branch `mirror`: celltypes/sync/mirror.py, the sync_upstream command) ------------
SYNC = ["sync_upstream", "--all"]
PAGE_SIZE = 500  # rows per RMA page in these tests: ~70 pages for the demo set
PAGE_QUERIES = "/api/v2/data/query.json"
FAST_RETRIES = {
    "CELLTYPES_MIRROR_PAGE_SIZE": str(PAGE_SIZE),
    "CELLTYPES_MIRROR_RETRIES": "3",
    "CELLTYPES_MIRROR_BACKOFF": "0.2",
    "CELLTYPES_MIRROR_BACKOFF_MAX": "0.5",
    "CELLTYPES_UPSTREAM_TIMEOUT": "2",  # a hang of HANG_SECONDS is past it
}
HANG_SECONDS = 6
SYNC_TIMEOUT = 180  # seconds a sync subprocess may take before the test fails


def run_state(db: Path) -> tuple[str, int] | None:
    """(status, pages staged) of the newest sync run in `db`, None before the first."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as connection:
        try:
            row = connection.execute(
                f"SELECT status, pages_staged FROM {SyncRun._meta.db_table} ORDER BY id DESC LIMIT 1"
            ).fetchone()
        except sqlite3.OperationalError:  # the table is not there yet
            return None
    return None if row is None else (row[0], row[1])


# ---- instances -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "db.sqlite3"

    def env(self, upstream: str, **extra: str) -> dict[str, str]:
        return demo_env(self.root, CELLTYPES_UPSTREAM=upstream, DJANGO_STATIC_MANIFEST="0", **EAGER_CELERY, **extra)

    def sync(self, upstream: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *SYNC],
            cwd=REPO,
            env=self.env(upstream, **FAST_RETRIES, **extra),
            capture_output=True,
            text=True,
            timeout=SYNC_TIMEOUT,
        )

    def copy(self, root: Path) -> Instance:
        """A copy of the database (not the file store) under `root`."""
        (root / "data").mkdir(parents=True)
        shutil.copyfile(self.db, root / "db.sqlite3")
        return Instance(root)


def make_stale(db: Path) -> None:
    """Synthetic edits of a complete copy: what an older upstream might have listed."""
    with closing(sqlite3.connect(db)) as connection, connection:
        first = connection.execute("SELECT min(id) FROM specimens WHERE is_cell_specimen").fetchone()[0]
        connection.execute("UPDATE specimens SET name = name || ' (older name)' WHERE id = ?", (first,))
        connection.execute(
            "UPDATE api_cell_types_specimen_details SET ef__tau = ef__tau + 1 WHERE specimen__id = ?", (first,)
        )
        connection.execute("DELETE FROM ephys_sweeps WHERE id IN (SELECT id FROM ephys_sweeps ORDER BY id LIMIT 3)")
        connection.execute(
            "INSERT INTO structures (id, acronym, name, parent_id) VALUES (999999001, 'GONE', 'no longer listed', NULL)"
        )


def assert_equal_to(ours: Path, theirs: Path) -> None:
    differences = compare_databases(ours, theirs)
    assert not differences, report(differences)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mirror")


@pytest.fixture(scope="module")
def upstream(workspace) -> Iterator[DemoServer]:
    with demo_server(workspace / "upstream", **EAGER_CELERY) as live:
        yield live


@pytest.fixture(scope="module")
def proxy(upstream) -> Iterator[FaultProxy]:
    with fault_proxy(upstream.url) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(request):
    if "proxy" in request.fixturenames:
        request.getfixturevalue("proxy").clear()


@pytest.fixture(scope="module")
def empty(workspace) -> Instance:
    """Migrated, nothing loaded."""
    instance = Instance(workspace / "empty")
    (instance.root / "data").mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "migrate", "--noinput", "-v0"],
        cwd=REPO,
        env=instance.env(""),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert row_counts(instance.db)["specimens"] == 0
    return instance


@dataclass(frozen=True)
class Synced:
    instance: Instance
    pages: int  # RMA pages a whole run asks for at PAGE_SIZE
    seconds: float


@pytest.fixture(scope="module")
def synced(empty, upstream, proxy, workspace) -> Synced:
    """The empty instance synced once, through the proxy without faults."""
    instance = empty.copy(workspace / "synced")
    proxy.clear()
    started = time.monotonic()
    done = instance.sync(proxy.url)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    return Synced(instance, proxy.count(PAGE_QUERIES), seconds)


@pytest.fixture
def previous(synced, upstream, tmp_path) -> tuple[Instance, Path]:
    """A stale complete copy, and a snapshot of it to compare with after a failed run."""
    instance = synced.instance.copy(tmp_path / "local")
    make_stale(instance.db)
    snapshot = tmp_path / "previous.sqlite3"
    shutil.copyfile(instance.db, snapshot)
    found = compare_databases(instance.db, upstream.db_path)
    assert {(d.table, d.column) for d in found} == {
        ("specimens", "name"),
        ("api_cell_types_specimen_details", "ef__tau"),
        ("ephys_sweeps", None),
        ("structures", None),
    } and len(found) == 6, report(found)
    return instance, snapshot


# ---- the tests -------------------------------------------------------------------------------------------------

SWC = 491119183  # Cux2-CreERT2;Ai14-165865.03.01.01_491119181_m.swc, a held reconstruction
NWB = 12715791450  # Sst-IRES-Cre;Ai14-395722.01.01.01.nwb, a held recording
FIT = 12793581734  # 472451419_fit.json, the fit of a biophysical model


def download(base: str, file_id: int) -> bytes:
    with urllib.request.urlopen(f"{base}/api/v2/well_known_file_download/{file_id}", timeout=60) as response:
        return response.read()


def test_an_empty_instance_synced_holds_every_table_and_fetches_files_byte_identical(synced, upstream):
    """Afterwards: every table equal to the upstream's, no file held until asked for; a SWC, an NWB and a model's
    fit JSON asked of the local server are fetched through from the upstream once, byte-identical, then held."""
    assert_equal_to(synced.instance.db, upstream.db_path)
    assert run_state(synced.instance.db)[0] == SyncRun.COMPLETE
    store = synced.instance.root / "data" / "well_known_files"
    assert not store.exists() or not any(store.iterdir())  # records only: files are lazy
    env = synced.instance.env(upstream.url)
    with serve(env, synced.instance.root / "server.log") as local:
        for file_id in (SWC, NWB, FIT):
            theirs = download(upstream.url, file_id)
            assert download(local, file_id) == theirs, file_id
            assert (store / str(file_id)).read_bytes() == theirs
    assert sorted(p.name for p in store.iterdir()) == sorted(str(i) for i in (SWC, NWB, FIT))


def test_transient_faults_are_retried_and_the_sync_completes(previous, upstream, proxy, synced):
    """A dropped connection, two 500s, a body cut short and a hang past the client's timeout, each on a page mid-way:
    each page is asked again (with back-off) and the run completes. Afterwards: every table equal to the upstream's
    (the renamed specimen and changed feature replaced, the missing sweeps back, the unlisted structure retired)."""
    instance, _ = previous
    middle = synced.pages // 2
    rules = {
        "drop": proxy.add("drop", PAGE_QUERIES, after=middle - 20),
        "status": proxy.add("status", PAGE_QUERIES, after=middle - 10, times=2),
        "short": proxy.add("short", PAGE_QUERIES, after=middle),
        "hang": proxy.add("hang", PAGE_QUERIES, after=middle + 10, hang_seconds=HANG_SECONDS),
    }
    done = instance.sync(proxy.url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {kind: rule.faulted for kind, rule in rules.items()} == {"drop": 1, "status": 2, "short": 1, "hang": 1}
    assert proxy.count(PAGE_QUERIES, kind="forwarded") == synced.pages  # each failed page asked again, once more
    assert_equal_to(instance.db, upstream.db_path)


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("status", {}, "HTTP 500"),
        ("garbage", {}, "not JSON"),
        ("garbage", {"body": b'{"rows": []}'}, "envelope"),
    ],
    ids=["500", "not-json", "not-the-envelope"],
)
def test_a_persistent_fault_stops_the_run_with_a_clear_error_and_keeps_the_previous_state(
    previous, proxy, synced, kind, options, message
):
    """Every page from the middle on fails (500s past the retries; garbage at once, since asking again cannot mend
    it): the command fails naming the table, the page and the fault. Afterwards: the live tables hold exactly the
    previous state (stale rows included), the run is marked failed."""
    instance, snapshot = previous
    rule = proxy.add(kind, PAGE_QUERIES, after=synced.pages // 2, times=None, **options)
    done = instance.sync(proxy.url)
    assert done.returncode != 0
    if kind == "status":  # the failing page was asked again RETRIES times before the run gave up
        assert rule.faulted >= int(FAST_RETRIES["CELLTYPES_MIRROR_RETRIES"]) + 1
    else:  # not asked again: at most the pages in flight got the garbage
        assert 1 <= rule.faulted <= settings.CELLTYPES_MIRROR_CONCURRENCY
    assert re.search(r"sync stopped: [\w.]+ page \d+: ", done.stderr) and message in done.stderr, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert_equal_to(instance.db, snapshot)
    assert run_state(instance.db)[0] == SyncRun.FAILED


def sync_killed_when(instance: Instance, env: dict[str, str], ready: Callable[[], bool]) -> None:
    """Run the sync as a subprocess and SIGKILL it as soon as `ready()` holds (polled; at most 90 s)."""
    log = instance.root / "killed-run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), *SYNC], cwd=REPO, env=env, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 90
        while not ready():
            assert process.poll() is None, f"the sync ended before the kill:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the run did not get there: {run_state(instance.db)}"
            time.sleep(0.05)
        assert process.poll() is None, f"the sync ended before the kill:\n{log.read_text()[-3000:]}"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def test_a_sync_killed_mid_way_keeps_the_previous_state_and_the_rerun_resumes(previous, upstream, proxy, synced):
    """The run is stuck on a page mid-way (the upstream hangs, the client waits), the pages before it are staged,
    and the process is killed with SIGKILL. Afterwards: the live tables hold exactly the previous state. A rerun
    asks only for the pages not staged (the checkpoint) and completes: every table equal to the upstream's."""
    instance, snapshot = previous
    middle = synced.pages // 2
    hang = proxy.add("hang", PAGE_QUERIES, after=middle, hang_seconds=60)
    env = instance.env(proxy.url, **{**FAST_RETRIES, "CELLTYPES_UPSTREAM_TIMEOUT": "120"})
    sync_killed_when(
        instance, env, lambda: hang.faulted and (state := run_state(instance.db)) and state[1] >= middle // 2
    )
    status, staged = run_state(instance.db)
    assert status == SyncRun.FETCHING and 0 < staged < synced.pages
    assert_equal_to(instance.db, snapshot)

    proxy.clear()
    done = instance.sync(proxy.url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert proxy.count(PAGE_QUERIES) == synced.pages - staged  # only what the checkpoint did not hold
    assert_equal_to(instance.db, upstream.db_path)


def test_a_sync_killed_while_applying_keeps_the_previous_state_and_the_rerun_applies(previous, upstream, proxy, synced):
    """Every page is staged and the one transaction that writes them to the live tables is under way when the
    process is killed with SIGKILL. Afterwards: the live tables hold exactly the previous state (the transaction
    never committed). A rerun fetches nothing, applies the staged pages, and every table equals the upstream's."""
    instance, snapshot = previous
    # The apply holds (a test-only setting) once every row table is written inside its open transaction, and says
    # so by creating a file: the kill lands there, whatever the machine's speed.
    held = instance.root / "apply-held"
    env = instance.env(proxy.url, **FAST_RETRIES, CELLTYPES_MIRROR_APPLY_HOLD=str(held))
    sync_killed_when(instance, env, held.exists)
    assert run_state(instance.db) == (SyncRun.APPLYING, synced.pages)
    assert_equal_to(instance.db, snapshot)

    proxy.clear()
    done = instance.sync(proxy.url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert proxy.count(PAGE_QUERIES) == 0
    assert_equal_to(instance.db, upstream.db_path)
