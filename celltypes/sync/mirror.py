"""Full mirror sync: bring every table of mirror_tables.TABLES up to date from the upstream's RMA API.

Phase 1 (fetch) pages through each table (`num_rows`/`start_row`, ordered by id, until `total_rows`) with at most
CELLTYPES_MIRROR_CONCURRENCY requests in flight, retrying timeouts, dropped connections and 5xx with back-off, and
commits each page on its own into SyncStagedPage: the checkpoint. Phase 2 (mirror_apply) writes all staged tables to
the live ones in one transaction. So a kill -9 at any point leaves the live tables as they were, and the next run
continues the unfinished one, skipping the pages already staged. One run at a time (a lock that dies with its
process); files stay lazy (records only: the fetch-through brings the bytes when first asked for).
"""

from __future__ import annotations

import fcntl
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from celltypes.atlas import filestore
from celltypes.sync.client import UpstreamClient, UpstreamError, UpstreamUnavailable
from celltypes.sync.mirror_tables import TABLES, RecordError, RowTable, Table
from celltypes.sync.models import SyncRun, SyncStagedPage

log = logging.getLogger(__name__)

MIRROR_TASK = "sync.mirror_sync"
# progress(table, done, total): rows of `table` staged so far (phase 1), or tables applied (phase 2, table "apply")
Progress = Callable[[str, int, int], None]


class MirrorError(Exception):
    """The run stopped: the message names the table, page and record where it could."""


class MirrorBusy(MirrorError):
    """Another full sync holds the lock."""


@dataclass(frozen=True)
class MirrorLimits:
    page_size: int
    concurrency: int
    retries: int
    backoff: float
    backoff_max: float
    page_deadline: float
    max_page_bytes: int
    max_rows_per_table: int
    max_pages: int

    @classmethod
    def from_settings(cls, **overrides) -> MirrorLimits:
        values = {
            "page_size": settings.CELLTYPES_MIRROR_PAGE_SIZE,
            "concurrency": settings.CELLTYPES_MIRROR_CONCURRENCY,
            "retries": settings.CELLTYPES_MIRROR_RETRIES,
            "backoff": settings.CELLTYPES_MIRROR_BACKOFF,
            "backoff_max": settings.CELLTYPES_MIRROR_BACKOFF_MAX,
            "page_deadline": settings.CELLTYPES_MIRROR_PAGE_DEADLINE,
            "max_page_bytes": settings.CELLTYPES_MIRROR_MAX_PAGE_BYTES,
            "max_rows_per_table": settings.CELLTYPES_MIRROR_MAX_ROWS_PER_TABLE,
            "max_pages": settings.CELLTYPES_MIRROR_MAX_PAGES,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        limits = cls(**values)
        if limits.page_size < 1 or limits.concurrency < 1:
            raise MirrorError("the page size and the concurrency must be at least 1")
        return limits


@dataclass
class MirrorReport:
    run_id: int
    resumed: bool
    pages_fetched: int = 0  # by this invocation
    pages_skipped: int = 0  # already staged by an earlier one
    rows: int = 0  # in the tables after the apply
    rows_fetched: int = 0  # by this invocation
    fetched: dict[str, list[float]] = field(default_factory=dict)  # table -> [rows, seconds of its requests]
    fetch_seconds: float = 0.0
    apply_seconds: float = 0.0
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    version_bumped: bool = False

    @property
    def rows_per_second(self) -> float:
        return self.rows_fetched / self.fetch_seconds if self.fetch_seconds else 0.0

    @property
    def changed(self) -> int:
        return sum(c["new"] + c["changed"] + c["retired"] for c in self.changes.values())


def mirror_sync(
    *,
    upstream: str | None = None,
    restart: bool = False,
    progress: Progress | None = None,
    on_run: Callable[[SyncRun], None] | None = None,
    **limit_overrides,
) -> MirrorReport:
    """Fetch (or finish fetching) every table from the upstream, then apply them all in one transaction.

    `upstream`: default CELLTYPES_UPSTREAM. `restart`: abandon an unfinished run instead of continuing it.
    MirrorBusy when another run holds the lock; MirrorError (the run marked failed, its pages kept for the next
    run) on anything else.
    """
    from celltypes.sync.mirror_apply import ApplyError, staged_apply

    base = (settings.CELLTYPES_UPSTREAM if upstream is None else upstream or "").strip().rstrip("/")
    if not base:
        raise MirrorError("no upstream is configured (CELLTYPES_UPSTREAM is empty)")
    limits = MirrorLimits.from_settings(**limit_overrides)
    progress = progress or (lambda table, done, total: None)
    with run_lock():
        run, resumed = _run_open(base, limits.page_size, restart)
        if on_run:
            on_run(run)
        report = MirrorReport(run_id=run.id, resumed=resumed)
        try:
            started = time.perf_counter()
            _fetch(run, base, limits, progress, report)  # nothing to fetch when all is staged (killed applying)
            report.fetch_seconds = time.perf_counter() - started
            SyncRun.objects.filter(id=run.id).update(status=SyncRun.APPLYING, current_table="", error="")
            started = time.perf_counter()
            try:
                changes, bumped = staged_apply(run.id, progress=progress)
            except ApplyError as exc:
                # What is staged cannot be applied (the upstream changed between pages, or contradicts itself):
                # drop it so that the next run fetches afresh.
                SyncStagedPage.objects.filter(run_id=run.id).delete()
                SyncRun.objects.filter(id=run.id).update(
                    status=SyncRun.ABANDONED, error=str(exc), finished_at=timezone.now()
                )
                raise MirrorError(f"{exc}; the staged pages were dropped, the next run fetches afresh") from exc
            report.apply_seconds = time.perf_counter() - started
        except MirrorError as exc:
            SyncRun.objects.filter(id=run.id, status__in=SyncRun.UNFINISHED).update(
                status=SyncRun.FAILED, error=str(exc)
            )
            raise
        except BaseException as exc:  # a soft time limit, Ctrl-C: the run stays resumable
            SyncRun.objects.filter(id=run.id, status__in=SyncRun.UNFINISHED).update(
                status=SyncRun.FAILED, error=f"interrupted: {type(exc).__name__}"
            )
            raise
        report.changes, report.version_bumped = changes, bumped
        report.rows = sum(c["rows"] for c in changes.values())
        return report


@contextmanager
def run_lock() -> Iterator[None]:
    """The one full sync at a time: an flock on a file in the data directory, released when its process dies."""
    path = filestore.data_dir() / "locks" / "mirror_sync.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = SyncRun.objects.filter(status__in=SyncRun.UNFINISHED).first()
            where = (
                f" (run {running.id}, {running.status}, started {running.started_at:%Y-%m-%d %H:%M:%S})"
                if running
                else ""
            )
            raise MirrorBusy(f"a full sync is already running{where}; this one did not start") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_open(base: str, page_size: int, restart: bool) -> tuple[SyncRun, bool]:
    """The unfinished run to continue, or a new one. An unfinished run of another upstream or page size, one
    started more than CELLTYPES_MIRROR_RESUME_HOURS ago (its pages would mix two states of the upstream), or any
    with `restart`, is abandoned. Pages of finished runs are dropped."""
    run = SyncRun.objects.filter(status__in=SyncRun.UNFINISHED).first()
    too_old = timezone.now() - timedelta(hours=settings.CELLTYPES_MIRROR_RESUME_HOURS)
    if run is not None and (restart or run.upstream != base or run.page_size != page_size or run.started_at < too_old):
        SyncRun.objects.filter(id=run.id).update(status=SyncRun.ABANDONED, finished_at=timezone.now())
        run = None
    resumed = run is not None
    if run is None:
        run = SyncRun.objects.create(upstream=base, page_size=page_size)
    SyncStagedPage.objects.exclude(run_id=run.id).delete()
    return run, resumed


# ---- phase 1: fetch pages into the staging table ---------------------------------------------------------------


def _page_count(total: int, page_size: int) -> int:
    return max(1, math.ceil(total / page_size))


def _fetch(run: SyncRun, base: str, limits: MirrorLimits, progress: Progress, report: MirrorReport) -> None:
    staged: dict[str, dict[int, tuple[int, int]]] = {table.name: {} for table in TABLES}
    for name, page, total, count in SyncStagedPage.objects.filter(run_id=run.id).values_list(
        "table", "page", "total_rows", "start_row"
    ):
        if name in staged:
            staged[name][page] = (total, count)
    totals: dict[str, int] = {}
    todo: deque[tuple[Table, int]] = deque()
    for table in TABLES:
        pages = staged[table.name]
        if 0 in pages:
            totals[table.name] = pages[0][0]
            wanted = range(_page_count(totals[table.name], limits.page_size))
            todo.extend((table, page) for page in wanted if page not in pages)
            report.pages_skipped += len(pages)
        else:
            todo.append((table, 0))
    pages_known = sum(_page_count(total, limits.page_size) for total in totals.values())
    SyncRun.objects.filter(id=run.id).update(status=SyncRun.FETCHING, error="", pages_total=pages_known)
    if report.pages_skipped + len(todo) > limits.max_pages:
        raise MirrorError(f"the run would need more than CELLTYPES_MIRROR_MAX_PAGES={limits.max_pages} pages")
    local = threading.local()

    def client() -> UpstreamClient:
        if not hasattr(local, "client"):
            local.client = UpstreamClient(base, timeout=settings.CELLTYPES_UPSTREAM_TIMEOUT)
        return local.client

    pool = ThreadPoolExecutor(max_workers=limits.concurrency, thread_name_prefix="mirror-fetch")
    running: dict[Future, tuple[Table, int]] = {}
    try:
        while todo or running:
            while todo and len(running) < limits.concurrency:
                table, page = todo.popleft()
                query = table.query(page * limits.page_size, limits.page_size)
                running[pool.submit(_page_get, client, query, f"{table.name} page {page}", limits)] = (table, page)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                table, page = running.pop(future)
                envelope, seconds = future.result()
                total = _page_check(run, table, page, envelope, totals, limits)
                if page == 0:
                    totals[table.name] = total
                    more = _page_count(total, limits.page_size)
                    pages_known += more
                    if report.pages_skipped + report.pages_fetched + more + len(todo) > limits.max_pages:
                        raise MirrorError(
                            f"the run would need more than CELLTYPES_MIRROR_MAX_PAGES={limits.max_pages} pages "
                            f"({table.name} alone has {total:,} rows)"
                        )
                    todo.extend((table, later) for later in range(1, more))
                _page_stage(run, table, page, envelope, total, pages_known, limits)
                report.pages_fetched += 1
                report.rows_fetched += len(envelope["msg"])
                stats = report.fetched.setdefault(table.name, [0, 0.0])
                stats[0] += len(envelope["msg"])
                stats[1] += seconds
                staged[table.name][page] = (total, 0)
                done = min(total, sum(1 for _ in staged[table.name]) * limits.page_size)
                progress(table.name, done, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _page_get(client: Callable[[], UpstreamClient], query: str, where: str, limits: MirrorLimits) -> tuple[dict, float]:
    """One page and the seconds it took, asked again with exponential back-off while the failure may pass."""
    started = time.perf_counter()
    for attempt in range(limits.retries + 1):
        try:
            envelope = client().rma_page(query, deadline=limits.page_deadline, max_bytes=limits.max_page_bytes)
            return envelope, time.perf_counter() - started
        except UpstreamUnavailable as exc:
            if attempt == limits.retries:
                raise MirrorError(f"{where}: {exc} (gave up after {limits.retries} retries)") from exc
            pause = min(limits.backoff_max, limits.backoff * 2**attempt)
            log.warning("%s: %s; asking again in %.1f s", where, exc, pause)
            time.sleep(pause)
        except UpstreamError as exc:
            raise MirrorError(f"{where}: {exc}") from exc
    raise AssertionError("unreachable")


def _page_check(
    run: SyncRun, table: Table, page: int, envelope: dict, totals: dict[str, int], limits: MirrorLimits
) -> int:
    """The page's total_rows, after checking its rows: their count, that each maps, and the total is the table's."""
    where = f"{table.name} page {page}"
    start = page * limits.page_size
    total = envelope["total_rows"]
    if envelope.get("start_row", start) != start:
        raise MirrorError(f"{where}: asked for start_row {start}, the upstream answered {envelope.get('start_row')}")
    if total > limits.max_rows_per_table:
        raise MirrorError(
            f"{where}: the upstream lists {total:,} rows, more than CELLTYPES_MIRROR_MAX_ROWS_PER_TABLE="
            f"{limits.max_rows_per_table:,}"
        )
    if table.name in totals and totals[table.name] != total:
        SyncStagedPage.objects.filter(run_id=run.id, table=table.name).delete()
        raise MirrorError(
            f"{where}: the upstream's total_rows went from {totals[table.name]:,} to {total:,} while paging (it "
            "changed during the sync); the table's staged pages were dropped, the next run fetches it afresh"
        )
    rows = envelope["msg"]
    expected = max(0, min(limits.page_size, total - start))
    if len(rows) != expected:
        raise MirrorError(f"{where}: {len(rows)} rows, expected {expected} (start_row {start} of total_rows {total})")
    for index, record in enumerate(rows):
        try:
            table.values(record) if isinstance(table, RowTable) else table.pairs(record)
        except RecordError as exc:
            raise MirrorError(f"{where}, record {start + index} (id {record.get('id')!r}): {exc}") from None
    return total


def _page_stage(
    run: SyncRun, table: Table, page: int, envelope: dict, total: int, pages_known: int, limits: MirrorLimits
) -> None:
    """Commit one page and the run's counters together: the checkpoint a rerun continues from."""
    rows = envelope["msg"]
    with transaction.atomic():
        SyncStagedPage.objects.create(
            run_id=run.id, table=table.name, page=page, start_row=page * limits.page_size, total_rows=total, rows=rows
        )
        SyncRun.objects.filter(id=run.id).update(
            pages_staged=F("pages_staged") + 1,
            rows_staged=F("rows_staged") + len(rows),
            pages_total=pages_known,
            current_table=table.name,
            updated_at=timezone.now(),
        )


def mirror_run_latest() -> SyncRun | None:
    """The newest run (what the /sync/ page and the admin show)."""
    return SyncRun.objects.first()


def mirror_sync_queue() -> str:
    """Queue a full sync for the worker (by the task's registered name); its task id. Raises when the broker cannot
    take it. A run already going makes the queued one answer "already running" and stop."""
    return current_app.tasks[MIRROR_TASK].apply_async(retry=False).id
