"""Celery tasks of the atlas: thin wrappers that call a service."""

import logging
import time

from celery import shared_task

from celltypes.atlas.selectors.models import held_model_get
from celltypes.atlas.services.ephys_thumbnails import THUMBNAIL_TASK, ephys_thumbnail_render
from celltypes.atlas.services.fi_curves import BIOPHYSICAL_FI_TASK, FI_WALL_LIMIT_S, biophysical_fi_curve
from celltypes.atlas.services.model_metrics import (
    EXPLAINED_VARIANCE_TASK,
    EXPLAINED_VARIANCE_WALL_LIMIT_S,
    glif_explained_variance_cached,
)
from celltypes.atlas.services.morphology import (
    COMPUTE_TASK,
    RENDER_TASK,
    computed_morphology_update,
    morphology_preview_render,
)
from celltypes.atlas.services.simulations import (
    BIOPHYSICAL_RUN_TASK,
    BIOPHYSICAL_WALL_LIMIT_S,
    GLIF_RUN_TASK,
    GLIF_WALL_LIMIT_S,
    biophysical_run,
    glif_expected_seconds,
    glif_run_cached,
    glif_spec_from_task_query,
    spec_from_task_query,
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


@shared_task(name=THUMBNAIL_TASK, ignore_result=True, soft_time_limit=60, time_limit=90)
def ephys_thumbnail_render_task(specimen_id: int) -> str:
    """Draw the trace thumbnail of specimen `specimen_id` from its held sweeps."""
    path = ephys_thumbnail_render(specimen_id=specimen_id)
    return f"drawn: {path.name}" if path else "nothing drawn"


@shared_task(name=COMPUTE_TASK, ignore_result=True, soft_time_limit=120, time_limit=150)
def computed_morphology_update_task(reconstruction_id: int) -> str:
    """Compute and store the features of reconstruction `reconstruction_id` from its held SWC."""
    computed = computed_morphology_update(reconstruction_id=reconstruction_id)
    return f"error: {computed.error}" if computed.error else f"{len(computed.features)} features"


@shared_task(
    name=BIOPHYSICAL_RUN_TASK,
    bind=True,
    soft_time_limit=BIOPHYSICAL_WALL_LIMIT_S + 120,
    time_limit=BIOPHYSICAL_WALL_LIMIT_S + 180,
)
def biophysical_run_task(self, model_id: int, stimulus_query: dict[str, str]) -> str:
    """Run biophysical model `model_id` on the stimulus its URL parameters name; progress in the task's meta."""
    held = held_model_get(model_id=model_id)
    if held is None:
        return f"error: no model {model_id}"
    spec = spec_from_task_query(held, stimulus_query)

    def progress(fraction: float) -> None:
        if not self.request.is_eager:
            self.update_state(state="PROGRESS", meta={"fraction": fraction})

    return str(biophysical_run(held, spec, on_progress=progress))


@shared_task(name=GLIF_RUN_TASK, bind=True, soft_time_limit=GLIF_WALL_LIMIT_S, time_limit=GLIF_WALL_LIMIT_S + 30)
def glif_run_task(self, model_id: int, stimulus_query: dict[str, str]) -> str:
    """Run GLIF model `model_id` on the stimulus (and dt) its URL parameters name and cache the plot."""
    held = held_model_get(model_id=model_id)
    if held is None:
        return f"error: no model {model_id}"
    spec, dt = glif_spec_from_task_query(held, stimulus_query)
    if not self.request.is_eager:  # the page estimates progress from the start and the expected time
        expected = glif_expected_seconds(spec, dt)
        self.update_state(state="PROGRESS", meta={"started": time.time(), "expected_s": expected})
    return str(glif_run_cached(held, spec, dt))


@shared_task(
    name=EXPLAINED_VARIANCE_TASK,
    soft_time_limit=EXPLAINED_VARIANCE_WALL_LIMIT_S,
    time_limit=EXPLAINED_VARIANCE_WALL_LIMIT_S + 30,
)
def glif_explained_variance_task(model_id: int) -> str:
    """Measure GLIF model `model_id` on the cell's held noise repeats (Allen's explained variance ratio)."""
    held = held_model_get(model_id=model_id)
    if held is None:
        return f"error: no model {model_id}"
    return str(glif_explained_variance_cached(held))


@shared_task(name=BIOPHYSICAL_FI_TASK, bind=True, soft_time_limit=FI_WALL_LIMIT_S, time_limit=FI_WALL_LIMIT_S + 60)
def biophysical_fi_curve_task(self, model_id: int) -> str:
    """Run biophysical model `model_id` on 1 s steps at its cell's Long Square amplitudes; progress in the meta."""
    held = held_model_get(model_id=model_id)
    if held is None:
        return f"error: no model {model_id}"

    def progress(fraction: float) -> None:
        if not self.request.is_eager:
            self.update_state(state="PROGRESS", meta={"fraction": round(fraction, 3)})

    return str(biophysical_fi_curve(held, on_progress=progress))
