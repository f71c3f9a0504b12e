"""Celery tasks of the atlas: thin wrappers that call a service."""

import logging

from celery import shared_task

from celltypes.atlas.services.morphology import (
    COMPUTE_TASK,
    RENDER_TASK,
    computed_morphology_update,
    morphology_preview_render,
)
from celltypes.science.errors import InvalidFileError

log = logging.getLogger(__name__)


# A render of 200,000 nodes takes about 20 s; a task that dies with its process is queued again (settings).
@shared_task(name=RENDER_TASK, ignore_result=True, soft_time_limit=120, time_limit=150)
def morphology_preview_render_task(swc_file_id: int) -> str:
    """Render the XY/YZ previews of SWC file `swc_file_id`; a malformed SWC is recorded, not retried."""
    try:
        paths = morphology_preview_render(swc_file_id=swc_file_id)
    except InvalidFileError as exc:
        log.warning("SWC %s cannot be read: %s", swc_file_id, exc)
        return f"error: {exc}"
    return f"rendered {len(paths)} previews"


@shared_task(name=COMPUTE_TASK, ignore_result=True, soft_time_limit=120, time_limit=150)
def computed_morphology_update_task(reconstruction_id: int) -> str:
    """Compute and store the features of reconstruction `reconstruction_id` from its held SWC."""
    computed = computed_morphology_update(reconstruction_id=reconstruction_id)
    return f"error: {computed.error}" if computed.error else f"{len(computed.features)} features"
