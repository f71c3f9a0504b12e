"""Writes of morphology: computed features into the database, rendered previews into the file store.

Tasks call these; a page never does. A page that finds features or previews missing asks for them with
:func:`computed_morphology_request` / :func:`morphology_preview_request`, which enqueue the worker's task by its
name (so this module never imports the task module).
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import transaction

from celltypes.atlas import filestore
from celltypes.atlas.models import ComputedMorphology, NeuronReconstruction
from celltypes.atlas.selectors.morphology import (
    PreviewState,
    PreviewStatus,
    decode_swc,
    morphology_preview_path,
    morphology_preview_status,
    preview_dir,
    preview_error_path,
    reconstruction_swc_file,
    swc_feature_set,
)
from celltypes.atlas.vocabulary import PREVIEW_PLANES, PREVIEW_SIZE
from celltypes.science.errors import InvalidFileError
from celltypes.science.morphology_views import render_projection_png, render_projection_svg
from celltypes.science.swc import parse_swc

log = logging.getLogger(__name__)

# An in-flight marker older than this is a lost render (worker died, broker lost the message): try again.
PREVIEW_LOCK_SECONDS = 60
# A render started this many times without finishing (its process killed each time, e.g. out of memory) is given up
# and recorded as failed, so a task that dies with its process is not queued again for ever.
PREVIEW_MAX_ATTEMPTS = 3
COMPUTE_TASK = "atlas.computed_morphology_update"
RENDER_TASK = "atlas.morphology_preview_render"


class SwcNotHeld(LookupError):
    """The reconstruction has no SWC in the local file store."""


def computed_morphology_update(*, reconstruction_id: int, force: bool = False) -> ComputedMorphology:
    """Compute every feature from the reconstruction's held SWC and store them (or the read error).

    Nothing is recomputed while the SWC's sha256 is the one already stored (unless ``force``). A malformed SWC
    stores ``error`` (the reader's message, naming the line) and empty features instead of raising.
    Raises NeuronReconstruction.DoesNotExist, or SwcNotHeld when the file store holds no SWC for it.
    """
    reconstruction = NeuronReconstruction.objects.get(pk=reconstruction_id)
    wkf = reconstruction_swc_file(reconstruction)
    if wkf is None:
        raise SwcNotHeld(f"reconstruction {reconstruction_id} has no SWC in the file store")
    if force:
        ComputedMorphology.objects.filter(reconstruction_id=reconstruction_id).delete()
    feature_set = swc_feature_set(reconstruction, wkf)
    if feature_set.stored:
        return ComputedMorphology.objects.get(reconstruction_id=reconstruction_id)
    with transaction.atomic():
        computed, _ = ComputedMorphology.objects.update_or_create(
            reconstruction_id=reconstruction_id,
            defaults={
                "source_sha256": feature_set.source_sha256,
                "features": feature_set.features,
                "error": feature_set.error,
            },
        )
    return computed


def _enqueue(task_name: str, *args: object) -> None:
    """Queue a registered task by name (runs at once where Celery is configured eager, as in tests)."""
    current_app.tasks[task_name].delay(*args)


def computed_morphology_request(*, reconstruction_id: int) -> None:
    """Ask the worker to store the reconstruction's features (a page found them missing or stale)."""
    try:
        _enqueue(COMPUTE_TASK, reconstruction_id)
    except Exception:  # broker unreachable: the page already shows the features computed for it; log only
        log.warning("could not queue the feature computation of reconstruction %s", reconstruction_id, exc_info=True)


def morphology_preview_render(*, swc_file_id: int) -> list[Path]:
    """Render the XY and YZ projections of a held SWC as SVG and PNG into the file store.

    Reads the file store only (no database), so a worker can run it anywhere the store is mounted. A malformed
    SWC writes ``error.txt`` beside the previews (so requests stop queueing renders) and raises InvalidFileError;
    FileNotFoundError when the store does not hold the file.
    """
    source = filestore.well_known_file_path(swc_file_id)
    attempts = _attempts_path(swc_file_id)
    try:
        started = _attempt_count(attempts) + 1
        if started > PREVIEW_MAX_ATTEMPTS:
            error = InvalidFileError(
                source.name, f"rendering the previews failed {PREVIEW_MAX_ATTEMPTS} times (the process died)"
            )
            filestore.write_atomic(preview_error_path(swc_file_id), [str(error).encode()])
            raise error
        filestore.write_atomic(attempts, [str(started).encode()])
        try:
            morphology = parse_swc(decode_swc(source.read_bytes()), path=source.name)
        except InvalidFileError as exc:
            filestore.write_atomic(preview_error_path(swc_file_id), [str(exc).encode()])
            raise
        written = []
        for plane in PREVIEW_PLANES:
            svg = render_projection_svg(morphology, plane, PREVIEW_SIZE, PREVIEW_SIZE)
            png = render_projection_png(morphology, plane, PREVIEW_SIZE, PREVIEW_SIZE)
            for fmt, content in (("svg", svg.encode()), ("png", png)):
                written.append(filestore.write_atomic(morphology_preview_path(swc_file_id, plane, fmt), [content]).path)
        preview_error_path(swc_file_id).unlink(missing_ok=True)
        attempts.unlink(missing_ok=True)
        return written
    except InvalidFileError:
        attempts.unlink(missing_ok=True)  # recorded in error.txt: a new SWC starts counting afresh
        raise
    finally:
        _render_marker(swc_file_id).unlink(missing_ok=True)


def _attempts_path(swc_file_id: int) -> Path:
    return preview_dir(swc_file_id) / ".attempts"


def _attempt_count(path: Path) -> int:
    try:
        return int(path.read_text())
    except (FileNotFoundError, ValueError):
        return 0


def _renders_inline(swc_file_id: int) -> bool:
    """Whether a request may render this SWC's previews itself: only small files (a 200,000-node SWC takes ~3 s)."""
    try:
        size = filestore.well_known_file_path(swc_file_id).stat().st_size
    except FileNotFoundError:
        return False
    return size <= settings.CELLTYPES_PREVIEW_INLINE_MAX_BYTES


def _render_marker(swc_file_id: int) -> Path:
    return preview_dir(swc_file_id) / ".rendering"


def morphology_preview_request(*, swc_file_id: int, plane: str, fmt: str) -> PreviewStatus:
    """The preview's status; a missing one is queued for rendering once (an in-flight marker dedupes).

    The task is sent at once rather than on commit: it reads only the file store. When the broker cannot take
    it, the preview is rendered here instead (a few tens of milliseconds) so the page does not wait forever.
    """
    status = morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt=fmt)
    if status.state is not PreviewState.PENDING:
        return status
    if not filestore.claim_marker(_render_marker(swc_file_id), stale_after=PREVIEW_LOCK_SECONDS):
        return status
    try:
        _enqueue(RENDER_TASK, swc_file_id)
        return status
    except Exception:  # broker unreachable: fall back to rendering here, when the SWC is small enough
        log.warning("could not queue the preview render of SWC %s", swc_file_id, exc_info=True)
    if not _renders_inline(swc_file_id):
        _render_marker(swc_file_id).unlink(missing_ok=True)  # nothing in flight: the next request tries again
        return status
    with contextlib.suppress(InvalidFileError, OSError):  # error.txt records a malformed SWC; the status reports it
        morphology_preview_render(swc_file_id=swc_file_id)
    return morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt=fmt)


def morphology_preview_ensure(*, swc_file_id: int, plane: str, fmt: str) -> PreviewStatus:
    """Render the preview now when it is missing (for API clients that want the image in one request).

    An SWC too large to render in a request is queued for the worker instead and stays PENDING.
    """
    status = morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt=fmt)
    if status.state is PreviewState.PENDING and not _renders_inline(swc_file_id):
        return morphology_preview_request(swc_file_id=swc_file_id, plane=plane, fmt=fmt)
    if status.state is PreviewState.PENDING:
        with contextlib.suppress(InvalidFileError):  # recorded in error.txt: the status below reports it
            morphology_preview_render(swc_file_id=swc_file_id)
        status = morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt=fmt)
    return status
