"""Writes of a cell's trace thumbnail: the SVG rendered into the file store (derived/ephys_thumbnails/<specimen>/).

The worker's task renders it (:func:`ephys_thumbnail_render`); a page that finds it missing asks for it with
:func:`ephys_thumbnail_request`, which queues the task by its registered name once (an in-flight marker dedupes)
and, when no broker takes it, draws it in the request (a few held sweeps: tens of milliseconds).
"""

from __future__ import annotations

import logging
from pathlib import Path

from celery import current_app

from celltypes.atlas import filestore
from celltypes.atlas.selectors.ephys import SweepNotHeld, cell_ephys_get, current_clamp_samples
from celltypes.atlas.selectors.ephys_thumbnails import (
    ThumbnailPlan,
    ephys_thumbnail_plan,
    ephys_thumbnail_status,
    thumbnail_dir,
    thumbnail_error_path,
    thumbnail_path,
)
from celltypes.atlas.selectors.morphology import PreviewState, PreviewStatus
from celltypes.atlas.vocabulary import EPHYS_THUMBNAIL_COLOURS, EPHYS_THUMBNAIL_SIZE
from celltypes.science.ephys.thumbnail import ThumbnailTrace, render_thumbnail_svg

log = logging.getLogger(__name__)

THUMBNAIL_TASK = "atlas.ephys_thumbnail_render"
THUMBNAIL_LOCK_SECONDS = 60  # an in-flight marker older than this is a lost render: queue it again


def _marker(specimen_id: int) -> Path:
    return thumbnail_dir(specimen_id) / ".rendering"


def ephys_thumbnail_render(*, specimen_id: int) -> Path | None:
    """Draw the cell's thumbnail from its held sweeps into the store; None when it has none to draw. A sweep that
    cannot be read records the reason beside it (so pages stop asking) instead of raising."""
    try:
        plan = ephys_thumbnail_plan(cell_ephys_get(specimen_id=specimen_id), specimen_id)
        if plan is None:
            return None
        try:
            svg = _drawn(plan)
        except (SweepNotHeld, ValueError) as exc:
            filestore.write_atomic(thumbnail_error_path(plan), [str(exc).encode()])
            return None
        stored = filestore.write_atomic(thumbnail_path(plan), [svg.encode()])
        for old in thumbnail_dir(specimen_id).glob("*.svg"):  # drawn from files no longer held
            if old != stored.path:
                old.unlink(missing_ok=True)
        return stored.path
    finally:
        _marker(specimen_id).unlink(missing_ok=True)


def _drawn(plan: ThumbnailPlan) -> str:
    ephys = cell_ephys_get(specimen_id=plan.specimen_id)
    traces = []
    for sweep in plan.sweeps:
        samples = current_clamp_samples(ephys, sweep.sweep_number)
        colour = EPHYS_THUMBNAIL_COLOURS[sweep.stimulus]
        traces.append(ThumbnailTrace(samples.v, samples.sampling_rate, samples.stimulus_start, colour))
    width, height = EPHYS_THUMBNAIL_SIZE
    return render_thumbnail_svg(traces, width, height, title=plan.caption)


def ephys_thumbnail_request(*, plan: ThumbnailPlan) -> PreviewStatus:
    """The thumbnail's status; a missing one is queued for the worker once (drawn here when no broker takes it)."""
    status = ephys_thumbnail_status(plan)
    if status.state is not PreviewState.PENDING:
        return status
    if not filestore.claim_marker(_marker(plan.specimen_id), stale_after=THUMBNAIL_LOCK_SECONDS):
        return status
    try:
        current_app.tasks[THUMBNAIL_TASK].delay(plan.specimen_id)
        return ephys_thumbnail_status(plan)  # an eager Celery (tests, no broker configured) has drawn it already
    except Exception:  # broker unreachable: draw it here
        log.warning("could not queue the trace thumbnail of specimen %s", plan.specimen_id, exc_info=True)
    ephys_thumbnail_render(specimen_id=plan.specimen_id)
    return ephys_thumbnail_status(plan)
