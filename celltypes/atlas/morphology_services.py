"""Morphology on the Django side: which SWC a reconstruction holds, its computed features, previews.

The science (reading SWC and marker files, features, pictures) lives in ``celltypes.science``; this module
finds the files in the file store, stores what the science computes, and compares it with Allen's record.

Previews are keyed by the **SWC WellKnownFile id**, not by the reconstruction: a picture is a function of
one file, a worker can render it from the file store alone (no database needed), and the same id serves
``/api/v2/section_image_download/<id>``. They live at ``derived/previews/<file id>/<plane>.<svg|png>``.
A preview older than its SWC (the file was fetched again) counts as missing.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import ComputedMorphology, NeuronReconstruction, WellKnownFile
from celltypes.science.errors import InvalidFileError
from celltypes.science.morphology import UNREPRODUCIBLE, compute_features
from celltypes.science.morphology_views import (
    morphology_plot_payload,
    render_projection_png,
    render_projection_svg,
)
from celltypes.science.swc import Marker, Morphology, parse_marker_file, parse_swc

log = logging.getLogger(__name__)

PREVIEW_PLANES = ("xy", "yz")
PREVIEW_FORMATS = ("svg", "png")
PREVIEW_SIZE = 300  # px, square
# An in-flight marker older than this is a lost render (worker died, broker lost the message): try again.
PREVIEW_LOCK_SECONDS = 60
# Relative difference under which a computed value "agrees" with the published one. Allen's older table
# prints 12 significant digits, so a true match is within ~1e-11; 1e-6 still separates different tracings.
AGREEMENT_RTOL = 1e-6

# Allen's feature columns of NeuronReconstruction, in display order: (label, unit).
MORPHOLOGY_COLUMNS: dict[str, tuple[str, str]] = {
    "number_nodes": ("Nodes", ""),
    "number_stems": ("Stems", ""),
    "number_bifurcations": ("Bifurcations", ""),
    "number_branches": ("Branches", ""),
    "number_tips": ("Tips", ""),
    "max_branch_order": ("Max branch order", ""),
    "total_length": ("Total length", "µm"),
    "max_euclidean_distance": ("Max Euclidean distance from soma", "µm"),
    "max_path_distance": ("Max path distance", "µm"),
    "average_contraction": ("Average contraction", ""),
    "average_fragmentation": ("Average fragmentation", "nodes/section"),
    "average_parent_daughter_ratio": ("Average parent:daughter radius ratio", ""),
    "average_bifurcation_angle_local": ("Average bifurcation angle, local", "°"),
    "average_bifurcation_angle_remote": ("Average bifurcation angle, remote", "°"),
    "overall_depth": ("Overall depth", "µm"),
    "overall_width": ("Overall width", "µm"),
    "overall_height": ("Overall height", "µm"),
    "average_diameter": ("Average diameter", "µm"),
    "soma_surface": ("Soma surface", "µm²"),
    "total_surface": ("Total surface", "µm²"),
    "total_volume": ("Total volume", "µm³"),
    "hausdorff_dimension": ("Hausdorff dimension", ""),
}
NOT_COMPUTED = {"hausdorff_dimension": "Not computed here; Allen's published column is empty for every cell."}
REPRODUCIBLE = tuple(name for name in MORPHOLOGY_COLUMNS if name not in UNREPRODUCIBLE and name not in NOT_COMPUTED)


class SwcNotHeld(LookupError):
    """The reconstruction has no SWC in the local file store."""


# Locating files


def _local_file(reconstruction: NeuronReconstruction, file_type: tuple[int, str]) -> WellKnownFile | None:
    files = WellKnownFile.objects.filter(
        neuron_reconstruction_id=reconstruction.pk, well_known_file_type_id=file_type[0]
    ).order_by("-id")
    return next((wkf for wkf in files if filestore.has_well_known_file(wkf.id)), None)


def reconstruction_swc_file(reconstruction: NeuronReconstruction) -> WellKnownFile | None:
    """The reconstruction's SWC (3DNeuronReconstruction) that the file store holds, if any."""
    return _local_file(reconstruction, choices.RECONSTRUCTION)


def reconstruction_marker_file(reconstruction: NeuronReconstruction) -> WellKnownFile | None:
    """The reconstruction's marker file (3DNeuronMarker) that the file store holds, if any."""
    return _local_file(reconstruction, choices.MARKER)


def cell_reconstruction_with_swc(*, specimen_id: int) -> tuple[NeuronReconstruction, WellKnownFile] | None:
    """The cell's reconstruction to draw: the current one if its SWC is held, else the newest held one.

    Some demo cells hold only an older (superseded) reconstruction's SWC; that is the one drawn then.
    """
    files = (
        WellKnownFile.objects.filter(
            neuron_reconstruction__specimen_id=specimen_id,
            well_known_file_type_id=choices.RECONSTRUCTION[0],
        )
        .select_related("neuron_reconstruction")
        .order_by("neuron_reconstruction__superseded", "-neuron_reconstruction_id", "-id")
    )
    for wkf in files:
        if filestore.has_well_known_file(wkf.id):
            return wkf.neuron_reconstruction, wkf
    return None


def specimens_with_held_swc(specimen_ids: Iterable[int]) -> set[int]:
    """Which of these specimens have a reconstruction whose SWC the file store holds: one query for all of them.

    For pages that list many cells (the search cards); the rest is a stat per SWC file, no database.
    """
    ids = list(specimen_ids)
    if not ids:
        return set()
    files = WellKnownFile.objects.filter(
        well_known_file_type_id=choices.RECONSTRUCTION[0], neuron_reconstruction__specimen_id__in=ids
    ).values_list("neuron_reconstruction__specimen_id", "id")
    return {specimen_id for specimen_id, file_id in files if filestore.has_well_known_file(file_id)}


def swc_file_get(*, file_id: int) -> WellKnownFile | None:
    """The SWC (3DNeuronReconstruction) well-known file ``file_id`` when the file store holds it."""
    wkf = WellKnownFile.objects.filter(pk=file_id, well_known_file_type_id=choices.RECONSTRUCTION[0]).first()
    return wkf if wkf is not None and filestore.has_well_known_file(wkf.id) else None


def _file_label(wkf: WellKnownFile) -> str:
    return wkf.file_name or f"well-known file {wkf.id}"


def _read_bytes(file_id: int) -> bytes:
    return filestore.well_known_file_path(file_id).read_bytes()


def _decode(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def swc_morphology_read(wkf: WellKnownFile) -> Morphology:
    """Parse the held SWC (InvalidFileError naming the file and line when malformed)."""
    return parse_swc(_decode(_read_bytes(wkf.id)), path=_file_label(wkf))


def reconstruction_markers_read(reconstruction: NeuronReconstruction) -> list[Marker]:
    """The reconstruction's markers; none when no marker file is held or it cannot be read (logged)."""
    wkf = reconstruction_marker_file(reconstruction)
    if wkf is None:
        return []
    try:
        return parse_marker_file(_decode(_read_bytes(wkf.id)), path=_file_label(wkf))
    except InvalidFileError as exc:
        log.warning("ignoring unreadable marker file %s: %s", wkf.id, exc)
        return []


def _held_sha256(wkf: WellKnownFile) -> str:
    return wkf.sha256 or filestore.sha256_of(filestore.well_known_file_path(wkf.id))


def morphology_plot_etag(reconstruction: NeuronReconstruction, swc: WellKnownFile) -> str:
    """The SWC's sha256 (plus the marker file's, when one is drawn): the plot changes only with them."""
    marker = reconstruction_marker_file(reconstruction)
    return _held_sha256(swc) + (f".{_held_sha256(marker)[:16]}" if marker is not None else "")


def morphology_plot_get(reconstruction: NeuronReconstruction, swc: WellKnownFile) -> dict:
    """The plotly figure dict of the SWC with the reconstruction's markers, and which files it shows.

    Raises InvalidFileError when the SWC is malformed.
    """
    payload = morphology_plot_payload(swc_morphology_read(swc), reconstruction_markers_read(reconstruction))
    payload["reconstruction"] = {
        "id": reconstruction.pk,
        "specimen_id": reconstruction.specimen_id,
        "superseded": reconstruction.superseded,
        "swc_file_id": swc.pk,
    }
    return payload


# Computed features


def computed_morphology_update(*, reconstruction_id: int, force: bool = False) -> ComputedMorphology:
    """Compute every feature from the reconstruction's held SWC and store them (or the read error).

    Nothing is recomputed while the SWC's sha256 is the one already stored (unless ``force``). A malformed
    SWC stores ``error`` (the reader's message, naming the line) and empty features instead of raising.
    Raises NeuronReconstruction.DoesNotExist, or SwcNotHeld when the file store holds no SWC for it.
    """
    reconstruction = NeuronReconstruction.objects.get(pk=reconstruction_id)
    wkf = reconstruction_swc_file(reconstruction)
    if wkf is None:
        raise SwcNotHeld(f"reconstruction {reconstruction_id} has no SWC in the file store")
    data = _read_bytes(wkf.id)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = ComputedMorphology.objects.filter(reconstruction_id=reconstruction_id).first()
    if existing is not None and existing.source_sha256 == sha256 and not force:
        return existing
    try:
        features, error = compute_features(parse_swc(_decode(data), path=_file_label(wkf))), None
    except InvalidFileError as exc:
        features, error = {}, str(exc)
    with transaction.atomic():
        computed, _ = ComputedMorphology.objects.update_or_create(
            reconstruction_id=reconstruction_id,
            defaults={"source_sha256": sha256, "features": features, "error": error},
        )
    return computed


@dataclass(frozen=True)
class ComparisonRow:
    """One Allen column: the published value beside the one computed from the SWC."""

    name: str
    label: str
    unit: str
    published: float | int | None
    computed: float | int | None
    relative_difference: float | None  # (computed − published) / |published|
    reproducible: bool  # the SWC alone determines Allen's value
    explanation: str | None  # why a difference is expected (the six unreproducible features, Hausdorff)

    @property
    def agrees(self) -> bool | None:
        """Within AGREEMENT_RTOL; None when there is nothing to compare."""
        if self.relative_difference is None:
            return None
        return abs(self.relative_difference) <= AGREEMENT_RTOL


@dataclass(frozen=True)
class MorphologyComparison:
    """Published (Allen) against computed (ours) for one reconstruction; iterate it for the rows.

    ``note`` says in a sentence when the table should not be read as a test of the computation: the SWC is
    an older reconstruction than the one Allen publishes, or its values do not match its record.
    """

    reconstruction: NeuronReconstruction
    swc_file: WellKnownFile | None
    computed: ComputedMorphology | None
    rows: list[ComparisonRow] = field(default_factory=list)
    published_reconstruction_id: int | None = None  # the cell's published record, when it is another one
    note: str | None = None

    @property
    def error(self) -> str | None:
        """The reader's message when the SWC could not be read."""
        return self.computed.error if self.computed is not None else None

    @property
    def disagreeing(self) -> list[str]:
        return [row.name for row in self.rows if row.reproducible and row.agrees is False]

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def relative_difference(computed: float | int | None, published: float | int | None) -> float | None:
    if computed is None or published is None:
        return None
    if published == 0:
        return 0.0 if computed == 0 else math.inf
    return (computed - published) / abs(published)


def morphology_comparison(reconstruction: NeuronReconstruction) -> MorphologyComparison:
    """Rows for a template table: label, unit, published, computed, relative difference, explanation.

    The SWC is compared with its own NeuronReconstruction row. When that row is a superseded (older)
    reconstruction, ``published_reconstruction_id`` names the cell's current record and ``note`` says so.
    Reads only: features are computed by :func:`computed_morphology_update` (task, command).
    """
    swc = reconstruction_swc_file(reconstruction)
    computed = ComputedMorphology.objects.filter(reconstruction_id=reconstruction.pk).first()
    values = computed.features if computed is not None and not computed.error else {}
    published = {name: getattr(reconstruction, name) for name in MORPHOLOGY_COLUMNS}
    rows = []
    for name, (label, unit) in MORPHOLOGY_COLUMNS.items():
        ours = values.get(name)
        rows.append(
            ComparisonRow(
                name=name,
                label=label,
                unit=unit,
                published=published[name],
                computed=ours,
                relative_difference=relative_difference(ours, published[name]),
                reproducible=name in REPRODUCIBLE,
                explanation=UNREPRODUCIBLE.get(name) or NOT_COMPUTED.get(name),
            )
        )
    current_id = None
    if reconstruction.superseded:
        current_id = (
            NeuronReconstruction.objects.filter(specimen_id=reconstruction.specimen_id, superseded=False)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
    note = _comparison_note(reconstruction, computed, rows, current_id)
    return MorphologyComparison(reconstruction, swc, computed, rows, current_id, note)


def _comparison_note(
    recon: NeuronReconstruction, computed: ComputedMorphology | None, rows: list[ComparisonRow], current_id: int | None
) -> str | None:
    if recon.superseded:
        newer = f"reconstruction {current_id}" if current_id else "another reconstruction"
        text = (
            f"This SWC is reconstruction {recon.pk}, an older reconstruction of the cell; "
            f"Allen's published features are of {newer}."
        )
        if all(row.published is None for row in rows if row.reproducible):
            text += " Allen publishes no features for this older reconstruction."
        else:
            text += (
                " The published values compared are Allen's record of this older reconstruction (an earlier release)."
            )
        return text
    if computed is None or computed.error:
        return None
    compared = [row for row in rows if row.reproducible and row.agrees is not None]
    differing = [row.name for row in compared if not row.agrees]
    if differing:
        return (
            f"{len(differing)} of the {len(compared)} features an SWC determines differ from the published "
            f"record (e.g. {', '.join(differing[:3])}): the SWC held here is probably a different tracing of "
            "this cell (such as an older reconstruction) than the one the published record describes."
        )
    return None


def computed_morphology_error(reconstruction: NeuronReconstruction, swc: WellKnownFile) -> str | None:
    """The stored read error of this very SWC (same sha256), when features were computed from it."""
    computed = ComputedMorphology.objects.filter(reconstruction_id=reconstruction.pk).first()
    if computed is not None and computed.error and (swc.sha256 is None or computed.source_sha256 == swc.sha256):
        return computed.error
    return None


# Previews


def morphology_preview_path(swc_file_id: int, plane: str, fmt: str) -> Path:
    """Where the ``plane`` (xy, yz) projection of SWC file ``swc_file_id`` is kept as ``fmt`` (svg, png)."""
    if plane not in PREVIEW_PLANES or fmt not in PREVIEW_FORMATS:
        raise ValueError(f"no preview {plane}.{fmt}: planes {PREVIEW_PLANES}, formats {PREVIEW_FORMATS}")
    return filestore.derived_path("previews", str(int(swc_file_id)), f"{plane}.{fmt}")


def _preview_dir(swc_file_id: int) -> Path:
    return filestore.derived_path("previews", str(int(swc_file_id)))


def _error_path(swc_file_id: int) -> Path:
    return _preview_dir(swc_file_id) / "error.txt"


def _lock_path(swc_file_id: int) -> Path:
    return _preview_dir(swc_file_id) / ".rendering"


def _newer_than_source(path: Path, source: Path) -> bool:
    try:
        return path.stat().st_mtime_ns >= source.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def morphology_preview_render(*, swc_file_id: int) -> list[Path]:
    """Render the XY and YZ projections of a held SWC as SVG and PNG into the file store.

    Reads the file store only (no database), so a worker can run it anywhere the store is mounted. A
    malformed SWC writes ``error.txt`` beside the previews (so requests stop queueing renders) and raises
    InvalidFileError; FileNotFoundError when the store does not hold the file.
    """
    source = filestore.well_known_file_path(swc_file_id)
    try:
        try:
            morphology = parse_swc(_decode(source.read_bytes()), path=source.name)
        except InvalidFileError as exc:
            filestore.write_atomic(_error_path(swc_file_id), [str(exc).encode()])
            raise
        written = []
        for plane in PREVIEW_PLANES:
            svg = render_projection_svg(morphology, plane, PREVIEW_SIZE, PREVIEW_SIZE)
            png = render_projection_png(morphology, plane, PREVIEW_SIZE, PREVIEW_SIZE)
            for fmt, content in (("svg", svg.encode()), ("png", png)):
                written.append(filestore.write_atomic(morphology_preview_path(swc_file_id, plane, fmt), [content]).path)
        _error_path(swc_file_id).unlink(missing_ok=True)
        return written
    finally:
        _lock_path(swc_file_id).unlink(missing_ok=True)


class PreviewState(enum.Enum):
    READY = "ready"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class PreviewStatus:
    state: PreviewState
    path: Path | None = None  # READY: the image
    error: str | None = None  # FAILED: why the SWC could not be read


def morphology_preview_status(*, swc_file_id: int, plane: str, fmt: str) -> PreviewStatus:
    """READY (with the path), FAILED (with the reader's message) or PENDING (missing: not rendered yet)."""
    path = morphology_preview_path(swc_file_id, plane, fmt)
    source = filestore.well_known_file_path(swc_file_id)
    if _newer_than_source(path, source):
        return PreviewStatus(PreviewState.READY, path=path)
    error = _error_path(swc_file_id)
    if _newer_than_source(error, source):
        return PreviewStatus(PreviewState.FAILED, error=error.read_text(encoding="utf-8", errors="replace"))
    return PreviewStatus(PreviewState.PENDING)


def _lock_acquire(swc_file_id: int) -> bool:
    """Create the in-flight marker; False when a render is already in flight (a fresh marker exists)."""
    lock = _lock_path(swc_file_id)
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        if time.time() - lock.stat().st_mtime > PREVIEW_LOCK_SECONDS:
            lock.unlink(missing_ok=True)  # stale: the render it announced never finished
    except FileNotFoundError:
        pass
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def morphology_preview_request(*, swc_file_id: int, plane: str, fmt: str) -> PreviewStatus:
    """The preview's status; a missing one is queued for rendering once (an in-flight marker dedupes).

    The task is sent at once rather than through transaction.on_commit: it reads only the file store,
    so there is no database write it must wait for. When the broker cannot take it, the preview is
    rendered here instead (a few tens of milliseconds) so the page does not wait forever.
    """
    status = morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt=fmt)
    if status.state is not PreviewState.PENDING or not _lock_acquire(swc_file_id):
        return status
    from celltypes.atlas.tasks import morphology_preview_render_task

    try:
        morphology_preview_render_task.delay(swc_file_id)
        return status
    except Exception:  # broker unreachable, or an eager task failed: fall back to rendering here
        log.warning(
            "could not queue the preview render of SWC %s; rendering in the request", swc_file_id, exc_info=True
        )
    try:
        morphology_preview_render(swc_file_id=swc_file_id)
    except (InvalidFileError, OSError):
        pass  # error.txt records a malformed SWC; the status below reports it
    return morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt=fmt)


def morphology_preview_ensure(*, swc_file_id: int, plane: str, fmt: str) -> PreviewStatus:
    """Render the preview now when it is missing (for API clients that want the image in one request)."""
    status = morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt=fmt)
    if status.state is PreviewState.PENDING:
        try:
            morphology_preview_render(swc_file_id=swc_file_id)
        except InvalidFileError:
            pass
        status = morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt=fmt)
    return status
