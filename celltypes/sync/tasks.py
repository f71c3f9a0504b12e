"""Celery tasks of upstream sync: thin wrappers that call a service.

Both touch the network: an upstream that may come back (timeout, unreachable, HTTP 5xx, a body cut short, another
fetch of the file still running) is asked again with exponential back-off; a 4xx or a malformed record is not.
Time limits: the fetch gets its deadline (CELLTYPES_FETCH_TASK_DEADLINE) and a margin; the model sync records and
queues, so it is short. The broker's visibility timeout (settings) is longer than any of them with its back-off.
"""

import logging

from celery import current_app, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from celltypes.sync.client import UpstreamUnavailable
from celltypes.sync.mirror import MIRROR_TASK, MirrorBusy, mirror_sync
from celltypes.sync.nwb_fetch import FETCH_TASK, nwb_fetch_with_progress
from celltypes.sync.services import FETCH_FILE_TASK, neuronal_model_sync, well_known_file_fetch

log = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": (UpstreamUnavailable,),
    "max_retries": 5,
    "retry_backoff": 10,  # 10, 20, 40, 80, 120 s (with jitter: up to that)
    "retry_backoff_max": 120,
    "retry_jitter": True,
}


@shared_task(name="sync.neuronal_model_sync", soft_time_limit=120, time_limit=180, **RETRY)
def neuronal_model_sync_task(neuronal_model_id: int) -> str:
    """Record what the AllenSDK's BiophysicalApi.cache_data needs for one model; queue a fetch task per file."""
    return neuronal_model_sync(neuronal_model_id=neuronal_model_id, queue_files=True).summary()


@shared_task(
    name=FETCH_FILE_TASK,
    ignore_result=True,  # queued by requests: no result backend round-trip when sending
    soft_time_limit=settings.CELLTYPES_FETCH_TASK_DEADLINE + 60,
    time_limit=settings.CELLTYPES_FETCH_TASK_DEADLINE + 90,
    **RETRY,
)
def well_known_file_fetch_task(file_id: int) -> str:
    stored = well_known_file_fetch(file_id=file_id)
    return f"well-known file {file_id}: {stored.size} bytes"


@shared_task(
    name=FETCH_TASK,
    ignore_result=True,
    soft_time_limit=settings.CELLTYPES_FETCH_TASK_DEADLINE + 60,
    time_limit=settings.CELLTYPES_FETCH_TASK_DEADLINE + 90,
)
def nwb_fetch_with_progress_task(file_id: int) -> str:
    """Fetch a cell's NWB file from the upstream, with progress the ephys tab polls."""
    outcome = nwb_fetch_with_progress(file_id=file_id)
    return f"NWB file {file_id}: {outcome.state} {outcome.message}".strip()


@shared_task(
    bind=True,
    name=MIRROR_TASK,
    soft_time_limit=settings.CELLTYPES_MIRROR_TASK_TIME_LIMIT,
    time_limit=settings.CELLTYPES_MIRROR_TASK_TIME_LIMIT + 60,
)
def mirror_sync_task(self) -> str:
    """The full mirror sync (beat, the admin). Reports PROGRESS {table, done, total}. A run still fetching at the
    soft time limit stays staged and this task queues its continuation; a run already going answers so; any other
    stop (MirrorError) fails the task with the message naming the table and page."""

    def progress(table: str, done: int, total: int) -> None:
        if not self.request.id:  # called directly, not as a task
            return
        try:
            self.update_state(state="PROGRESS", meta={"table": table, "done": done, "total": total})
        except Exception:  # the result backend is down: the run goes on (its state is also in sync_runs)
            log.warning("could not report the mirror sync's progress", exc_info=True)

    try:
        report = mirror_sync(progress=progress)
    except MirrorBusy as exc:
        return str(exc)
    except SoftTimeLimitExceeded:
        current_app.tasks[MIRROR_TASK].apply_async(countdown=5)
        return "the run continues in the next task (time limit reached; pages so far are staged)"
    return f"run {report.run_id} complete: {report.changed} rows changed"
