"""Celery tasks of upstream sync: thin wrappers that call a service.

Both touch the network: an upstream that may come back (timeout, unreachable, HTTP 5xx, a body cut short, another
fetch of the file still running) is asked again with exponential back-off; a 4xx or a malformed record is not.
Time limits: the fetch gets its deadline (CELLTYPES_FETCH_TASK_DEADLINE) and a margin; the model sync records and
queues, so it is short. The broker's visibility timeout (settings) is longer than any of them with its back-off.
"""

from celery import shared_task
from django.conf import settings

from celltypes.sync.client import UpstreamUnavailable
from celltypes.sync.nwb_fetch import FETCH_TASK, nwb_fetch_with_progress
from celltypes.sync.services import neuronal_model_sync, well_known_file_fetch

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
    name="sync.well_known_file_fetch",
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
