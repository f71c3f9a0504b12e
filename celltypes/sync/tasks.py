"""Celery tasks of upstream sync: thin wrappers that call a service."""

from celery import shared_task

from celltypes.sync.nwb_fetch import FETCH_TASK, nwb_fetch_with_progress
from celltypes.sync.services import neuronal_model_sync, well_known_file_fetch


@shared_task(name="sync.neuronal_model_sync")
def neuronal_model_sync_task(neuronal_model_id: int) -> str:
    """Record and fetch what the AllenSDK's BiophysicalApi.cache_data needs for one model."""
    return neuronal_model_sync(neuronal_model_id=neuronal_model_id).summary()


@shared_task(name="sync.well_known_file_fetch")
def well_known_file_fetch_task(file_id: int) -> str:
    stored = well_known_file_fetch(file_id=file_id)
    return f"well-known file {file_id}: {stored.size} bytes"


@shared_task(name=FETCH_TASK, ignore_result=True)
def nwb_fetch_with_progress_task(file_id: int) -> str:
    """Fetch a cell's NWB file from the upstream, with progress the ephys tab polls."""
    outcome = nwb_fetch_with_progress(file_id=file_id)
    return f"NWB file {file_id}: {outcome.state} {outcome.message}".strip()
