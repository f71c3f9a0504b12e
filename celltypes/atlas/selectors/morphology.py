"""Reads of a cell's morphology: which SWC is drawn, its plot, its features beside Allen's, its previews.

**The one rule of which SWC is drawn** (:func:`drawn_swc`): the cell's current reconstruction when the file store
holds its SWC, else the newest held older (superseded) one; among several SWCs of one reconstruction, the newest.
Every page, plot, preview and command goes through it.

Previews are keyed by the **SWC WellKnownFile id**, not by the reconstruction: a picture is a function of one
file, a worker can render it from the file store alone, and the same id serves
``/swc_projection/<id>/<plane>.<fmt>``. They live at ``derived/previews/<file id>/<plane>.<svg|png>``; a preview
older than its SWC (the file was fetched again) counts as missing. Nothing here writes.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import Prefetch, QuerySet

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import (
    ComputedMorphology,
    CurrentNeuronReconstruction,
    NeuronReconstruction,
    WellKnownFile,
)
from celltypes.atlas.vocabulary import (
    AGREEMENT_RTOL,
    MORPHOLOGY_COLUMNS,
    MORPHOLOGY_FEATURE_LABELS,
    PREVIEW_FORMATS,
    PREVIEW_PLANES,
)
from celltypes.science.errors import InvalidFileError
from celltypes.science.morphology import UNREPRODUCIBLE, compute_features
from celltypes.science.morphology_views import morphology_plot_payload
from celltypes.science.swc import Marker, Morphology, parse_marker_file, parse_swc

log = logging.getLogger(__name__)

NOT_COMPUTED = {"hausdorff_dimension": "Not computed here; Allen's published column is empty for every cell."}
REPRODUCIBLE = tuple(name for name in MORPHOLOGY_COLUMNS if name not in UNREPRODUCIBLE and name not in NOT_COMPUTED)
RECONSTRUCTION_FILE_TYPES = (choices.RECONSTRUCTION[1], choices.MARKER[1])


# --- which files -----------------------------------------------------------------------------------------------


def is_held(file_id: int, size: int | None, sha256: str | None) -> bool:
    """The file store holds the file and it still matches its recorded size and sha256 (a damaged or replaced copy
    is not drawn, measured or served as good)."""
    return filestore.held_well_known_file(file_id, size=size, sha256=sha256) is not None


def _drawing_preference(candidate: tuple[NeuronReconstruction, WellKnownFile]) -> tuple[bool, int, int]:
    reconstruction, wkf = candidate
    return (reconstruction.superseded, -reconstruction.pk, -wkf.pk)


def drawn_swc(
    candidates: Iterable[tuple[NeuronReconstruction, WellKnownFile]],
) -> tuple[NeuronReconstruction, WellKnownFile] | None:
    """THE rule: of a cell's (reconstruction, SWC file) pairs, the one drawn (see the module docstring)."""
    for reconstruction, wkf in sorted(candidates, key=_drawing_preference):
        if is_held(wkf.id, wkf.size, wkf.sha256):
            return reconstruction, wkf
    return None


def cell_reconstruction_with_swc(*, specimen_id: int) -> tuple[NeuronReconstruction, WellKnownFile] | None:
    """The cell's drawn reconstruction and its SWC (one query), or None when no SWC of the cell is held."""
    files = WellKnownFile.objects.filter(
        neuron_reconstruction__specimen_id=specimen_id, well_known_file_type_id=choices.RECONSTRUCTION[0]
    ).select_related("neuron_reconstruction")
    return drawn_swc((wkf.neuron_reconstruction, wkf) for wkf in files)


def _held_file(reconstruction: NeuronReconstruction, file_type: tuple[int, str]) -> WellKnownFile | None:
    files = WellKnownFile.objects.filter(
        neuron_reconstruction_id=reconstruction.pk, well_known_file_type_id=file_type[0]
    ).order_by("-id")
    return next((wkf for wkf in files if is_held(wkf.id, wkf.size, wkf.sha256)), None)


def reconstruction_swc_file(reconstruction: NeuronReconstruction) -> WellKnownFile | None:
    """The reconstruction's held SWC (3DNeuronReconstruction), the newest when there are several."""
    return _held_file(reconstruction, choices.RECONSTRUCTION)


def reconstruction_marker_file(reconstruction: NeuronReconstruction) -> WellKnownFile | None:
    """The reconstruction's held marker file (3DNeuronMarker), if any."""
    return _held_file(reconstruction, choices.MARKER)


def specimens_with_held_swc(specimen_ids: Iterable[int]) -> set[int]:
    """Which of these specimens have a held SWC: one query for all of them, then a stat per SWC file."""
    return specimens_swc_holding(specimen_ids)[0]


def specimens_swc_holding(specimen_ids: Iterable[int]) -> tuple[set[int], set[int]]:
    """(specimens with a held SWC, specimens with an SWC record): one query, then a stat per SWC file."""
    ids = list(specimen_ids)
    if not ids:
        return set(), set()
    files = WellKnownFile.objects.filter(
        well_known_file_type_id=choices.RECONSTRUCTION[0], neuron_reconstruction__specimen_id__in=ids
    ).values_list("neuron_reconstruction__specimen_id", "id", "size", "sha256")
    recorded, held = set(), set()
    for specimen_id, file_id, size, sha256 in files:
        recorded.add(specimen_id)
        if specimen_id not in held and is_held(file_id, size, sha256):
            held.add(specimen_id)
    return held, recorded


def reconstructions_with_held_swc() -> list[int]:
    """Ids of every reconstruction (current or older) whose SWC the file store holds, ascending."""
    files = WellKnownFile.objects.filter(
        well_known_file_type_id=choices.RECONSTRUCTION[0], neuron_reconstruction__isnull=False
    ).values_list("neuron_reconstruction_id", "id", "size", "sha256")
    return sorted({recon_id for recon_id, file_id, size, sha256 in files if is_held(file_id, size, sha256)})


def swc_file_get(*, file_id: int) -> WellKnownFile | None:
    """The SWC (3DNeuronReconstruction) well-known file ``file_id`` when the file store holds it."""
    wkf = WellKnownFile.objects.filter(pk=file_id, well_known_file_type_id=choices.RECONSTRUCTION[0]).first()
    return wkf if wkf is not None and is_held(wkf.id, wkf.size, wkf.sha256) else None


def reconstructions() -> QuerySet[NeuronReconstruction]:
    """Every reconstruction record, current and older (superseded) ones."""
    return NeuronReconstruction.objects.order_by("id")


def current_reconstructions() -> QuerySet[CurrentNeuronReconstruction]:
    """Each cell's current reconstruction: Allen's published morphology features, one row per cell."""
    return CurrentNeuronReconstruction.objects.order_by("id")


# --- reading the files -----------------------------------------------------------------------------------------


def _file_label(wkf: WellKnownFile) -> str:
    return wkf.file_name or f"well-known file {wkf.id}"


def decode_swc(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def swc_morphology_read(wkf: WellKnownFile) -> Morphology:
    """Parse the held SWC (InvalidFileError naming the file and line when malformed)."""
    return parse_swc(decode_swc(filestore.well_known_file_path(wkf.id).read_bytes()), path=_file_label(wkf))


def reconstruction_markers_read(reconstruction: NeuronReconstruction) -> list[Marker]:
    """The reconstruction's markers; none when no marker file is held or it cannot be read (logged)."""
    wkf = reconstruction_marker_file(reconstruction)
    if wkf is None:
        return []
    try:
        return parse_marker_file(decode_swc(filestore.well_known_file_path(wkf.id).read_bytes()), path=_file_label(wkf))
    except InvalidFileError as exc:
        log.warning("ignoring unreadable marker file %s: %s", wkf.id, exc)
        return []


def _held_sha256(wkf: WellKnownFile) -> str:
    """The sha256 of the bytes held now (not the recorded one: an ETag names what is served)."""
    return filestore.current_sha256(filestore.well_known_file_path(wkf.id))


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


# --- features: computed beside published -------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureSet:
    """The features of one SWC's bytes: stored by the worker, or computed in memory when none are stored yet."""

    source_sha256: str
    features: dict[str, Any]
    error: str | None
    stored: bool  # False: computed for this read only; the worker stores it (the page asks for that)


def swc_feature_set(reconstruction: NeuronReconstruction, swc: WellKnownFile) -> FeatureSet:
    """The stored features when they are of this very SWC's bytes, else computed here (pure, nothing written)."""
    data = filestore.well_known_file_path(swc.id).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    stored = ComputedMorphology.objects.filter(reconstruction_id=reconstruction.pk).first()
    if stored is not None and stored.source_sha256 == sha256:
        return FeatureSet(sha256, stored.features, stored.error, stored=True)
    try:
        return FeatureSet(sha256, compute_features(parse_swc(decode_swc(data), path=_file_label(swc))), None, False)
    except InvalidFileError as exc:
        return FeatureSet(sha256, {}, str(exc), stored=False)


@dataclass(frozen=True)
class ComparisonRow:
    """One Allen column: the published value beside the one computed from the SWC."""

    name: str
    published: float | int | None
    computed: float | int | None
    relative_difference: float | None  # (computed − published) / |published|
    reproducible: bool  # the SWC alone determines Allen's value
    explanation: str | None  # why a difference is expected (the six unreproducible features, Hausdorff)

    @property
    def label(self) -> str:
        return MORPHOLOGY_FEATURE_LABELS[self.name].label

    @property
    def unit(self) -> str:
        return MORPHOLOGY_FEATURE_LABELS[self.name].unit

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
    feature_set: FeatureSet | None
    rows: list[ComparisonRow] = field(default_factory=list)
    published_reconstruction_id: int | None = None  # the cell's published record, when it is another one
    note: str | None = None

    @property
    def error(self) -> str | None:
        """The reader's message when the SWC could not be read."""
        return self.feature_set.error if self.feature_set is not None else None

    @property
    def disagreeing(self) -> list[str]:
        return [row.name for row in self.rows if row.reproducible and row.agrees is False]

    def __iter__(self) -> Iterator[ComparisonRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def relative_difference(computed: float | int | None, published: float | int | None) -> float | None:
    if computed is None or published is None:
        return None
    if published == 0:
        return 0.0 if computed == 0 else math.inf
    return (computed - published) / abs(published)


def morphology_comparison(
    reconstruction: NeuronReconstruction, swc: WellKnownFile | None = None, feature_set: FeatureSet | None = None
) -> MorphologyComparison:
    """Published beside computed, row by row, for the reconstruction's held SWC.

    When that reconstruction is a superseded (older) one, ``published_reconstruction_id`` names the cell's current
    record and ``note`` says so.
    """
    swc = swc if swc is not None else reconstruction_swc_file(reconstruction)
    if feature_set is None and swc is not None:
        feature_set = swc_feature_set(reconstruction, swc)
    values = feature_set.features if feature_set is not None and not feature_set.error else {}
    rows = [
        ComparisonRow(
            name=name,
            published=getattr(reconstruction, name),
            computed=values.get(name),
            relative_difference=relative_difference(values.get(name), getattr(reconstruction, name)),
            reproducible=name in REPRODUCIBLE,
            explanation=UNREPRODUCIBLE.get(name) or NOT_COMPUTED.get(name),
        )
        for name in MORPHOLOGY_COLUMNS
    ]
    current_id = None
    if reconstruction.superseded:
        current_id = (
            NeuronReconstruction.objects.filter(specimen_id=reconstruction.specimen_id, superseded=False)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
    note = _comparison_note(reconstruction, feature_set, rows, current_id)
    return MorphologyComparison(reconstruction, swc, feature_set, rows, current_id, note)


def _comparison_note(
    recon: NeuronReconstruction, feature_set: FeatureSet | None, rows: list[ComparisonRow], current_id: int | None
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
    if feature_set is None or feature_set.error:
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


# --- previews --------------------------------------------------------------------------------------------------


class PreviewState(enum.Enum):
    READY = "ready"
    PENDING = "pending"
    FAILED = "failed"


@dataclass(frozen=True)
class PreviewStatus:
    state: PreviewState
    path: Path | None = None  # READY: the image
    error: str | None = None  # FAILED: why the SWC could not be read


def morphology_preview_path(swc_file_id: int, plane: str, fmt: str) -> Path:
    """Where the ``plane`` projection of SWC file ``swc_file_id`` is kept as ``fmt``."""
    if plane not in PREVIEW_PLANES or fmt not in PREVIEW_FORMATS:
        raise ValueError(f"no preview {plane}.{fmt}: planes {PREVIEW_PLANES}, formats {PREVIEW_FORMATS}")
    return filestore.derived_path("previews", str(int(swc_file_id)), f"{plane}.{fmt}")


def preview_dir(swc_file_id: int) -> Path:
    return filestore.derived_path("previews", str(int(swc_file_id)))


def preview_error_path(swc_file_id: int) -> Path:
    return preview_dir(swc_file_id) / "error.txt"


def _newer_than_source(path: Path, source: Path) -> bool:
    try:
        return path.stat().st_mtime_ns >= source.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def morphology_preview_status(*, swc_file_id: int, plane: str, fmt: str) -> PreviewStatus:
    """READY (with the path), FAILED (with the reader's message) or PENDING (missing: not rendered yet)."""
    path = morphology_preview_path(swc_file_id, plane, fmt)
    source = filestore.well_known_file_path(swc_file_id)
    if _newer_than_source(path, source):
        return PreviewStatus(PreviewState.READY, path=path)
    error = preview_error_path(swc_file_id)
    if _newer_than_source(error, source):
        return PreviewStatus(PreviewState.FAILED, error=error.read_text(encoding="utf-8", errors="replace"))
    return PreviewStatus(PreviewState.PENDING)


# --- the morphology tab ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MorphologyFile:
    """A reconstruction file (SWC or marker) and whether the file store holds it (else the link 404s here)."""

    file: WellKnownFile
    held: bool

    @property
    def kind(self) -> str:
        return self.file.well_known_file_type.name


@dataclass(frozen=True)
class CellMorphology:
    """The morphology tab's data.

    ``reconstruction`` is Allen's current record; ``drawn`` is the reconstruction whose SWC is drawn (see
    :func:`drawn_swc`), compared in ``comparison``. ``features_pending`` is True when the features shown were
    computed for this read and the worker should store them.
    """

    reconstruction: NeuronReconstruction | None
    files: list[MorphologyFile] = field(default_factory=list)
    superseded: int = 0
    drawn: NeuronReconstruction | None = None
    swc_file: WellKnownFile | None = None
    comparison: MorphologyComparison | None = None
    preview_states: dict[str, PreviewState] = field(default_factory=dict)
    compute_error: str | None = None  # features could not be computed for a reason other than a malformed SWC
    # The SWC the rule would draw first were every file held, when the store lacks it (a fetch can bring it).
    missing_swc: WellKnownFile | None = None

    @property
    def read_error(self) -> str | None:
        return self.comparison.error if self.comparison is not None else None

    @property
    def features_pending(self) -> bool:
        fs = self.comparison.feature_set if self.comparison is not None else None
        return fs is not None and not fs.stored


def cell_morphology_get(*, specimen_id: int) -> CellMorphology:
    """The current reconstruction, the drawn one with its comparison, the files and the previews' states."""
    files = Prefetch(
        "well_known_files",
        queryset=WellKnownFile.objects.filter(well_known_file_type__name__in=RECONSTRUCTION_FILE_TYPES)
        .select_related("well_known_file_type")
        .order_by("well_known_file_type_id", "id"),
    )
    reconstructions = list(
        NeuronReconstruction.objects.filter(specimen_id=specimen_id)
        .prefetch_related(files)
        .order_by("superseded", "-id")
    )
    current = next((r for r in reconstructions if not r.superseded), None)
    candidates = [
        (r, w)
        for r in reconstructions
        for w in r.well_known_files.all()
        if w.well_known_file_type_id == choices.RECONSTRUCTION[0]
    ]
    found = drawn_swc(candidates)
    drawn, swc = found if found is not None else (None, None)
    first = min(candidates, key=_drawing_preference)[1] if candidates else None
    missing = first if first is not None and first != swc else None
    comparison, compute_error = None, None
    if drawn is not None and swc is not None:
        try:
            comparison = morphology_comparison(drawn, swc)
        except OSError as exc:
            log.warning("could not read the SWC of reconstruction %s", drawn.pk, exc_info=True)
            compute_error = f"The features could not be computed here ({exc})."
    shown = list(dict.fromkeys(r for r in (drawn, current) if r is not None))  # the drawn one's files first
    previews = {}
    if swc is not None and comparison is not None and not comparison.error:
        previews = {plane: _preview_state(swc.pk, plane) for plane in PREVIEW_PLANES}
    return CellMorphology(
        reconstruction=current,
        files=[MorphologyFile(w, is_held(w.id, w.size, w.sha256)) for r in shown for w in r.well_known_files.all()],
        superseded=sum(1 for r in reconstructions if r.superseded),
        drawn=drawn,
        swc_file=swc,
        comparison=comparison,
        preview_states=previews,
        compute_error=compute_error,
        missing_swc=missing,
    )


def _preview_state(swc_file_id: int, plane: str) -> PreviewState:
    try:
        return morphology_preview_status(swc_file_id=swc_file_id, plane=plane, fmt="png").state
    except OSError:
        return PreviewState.PENDING
