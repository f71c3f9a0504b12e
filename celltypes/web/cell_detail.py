"""Reads for the cell page: the specimen's facts and what the database holds for each tab.

A cell of Allen's table has a row in ApiCellTypesSpecimenDetail; specimens loaded from NWB files do not, so every
read falls back to the normalised tables and shows what exists.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError
from django.db.models import Model, Prefetch

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import (
    ApiCellTypesSpecimenDetail,
    EphysFeature,
    EphysSweep,
    NeuronalModel,
    NeuronReconstruction,
    Specimen,
    WellKnownFile,
)
from celltypes.atlas.morphology_services import (
    MORPHOLOGY_COLUMNS,
    NOT_COMPUTED,
    PREVIEW_PLANES,
    MorphologyComparison,
    PreviewState,
    SwcNotHeld,
    computed_morphology_update,
    morphology_comparison,
    morphology_preview_status,
)
from celltypes.web.facets import area_label
from celltypes.web.feature_labels import EPHYS_FEATURE_LABELS, MORPHOLOGY_FEATURE_LABELS, FeatureLabel

log = logging.getLogger(__name__)

MAX_SPECIMEN_ID = 2**63 - 1
RECONSTRUCTION_FILE_TYPES = (choices.RECONSTRUCTION[1], choices.MARKER[1])


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    key: str = ""


@dataclass(frozen=True)
class Cell:
    specimen_id: int
    name: str
    species: str | None
    facts: list[Fact]
    row: ApiCellTypesSpecimenDetail | None
    specimen: Specimen | None

    @property
    def in_cell_table(self) -> bool:
        return self.row is not None


def clean_structure_name(name: str | None) -> str | None:
    """Allen's structure names carry literal double quotes ('"Primary visual area, layer 4"')."""
    return name.strip().strip('"').strip() if name else name


def cell_get(*, specimen_id: int) -> Cell | None:
    """The specimen's facts, from the cell table where it has a row, else from the normalised tables."""
    if not 0 < specimen_id <= MAX_SPECIMEN_ID:
        return None
    row = ApiCellTypesSpecimenDetail.objects.filter(specimen_id=specimen_id).first()
    specimen = (
        Specimen.objects.select_related("donor__organism", "structure__parent", "cell_reporter")
        .prefetch_related("specimen_tags", "cell_soma_locations", "donor__transgenic_lines")
        .filter(id=specimen_id)
        .first()
    )
    if row is None and specimen is None:
        return None
    facts = _row_facts(row) if row is not None else _specimen_facts(specimen)
    name = (row.specimen_name if row else None) or (specimen.name if specimen else "") or str(specimen_id)
    species = _species(row, specimen)
    return Cell(specimen_id=specimen_id, name=name, species=species, facts=facts, row=row, specimen=specimen)


def _species(row: ApiCellTypesSpecimenDetail | None, specimen: Specimen | None) -> str | None:
    if row is not None and row.donor_species:
        return row.donor_species
    if specimen is not None and specimen.donor is not None:
        return specimen.donor.organism.name
    return None


def _facts(pairs: list[tuple[str, str, Any]]) -> list[Fact]:
    return [Fact(label, str(value), key) for key, label, value in pairs if value not in (None, "")]


def _depth(value: float | None) -> str | None:
    if value is None or not math.isfinite(value):
        return None
    return f"{value:.3f} (0 = pia, 1 = white matter)"


def _row_facts(row: ApiCellTypesSpecimenDetail) -> list[Fact]:
    area = area_label(row.structure_parent_acronym) if row.structure_parent_acronym else None
    structure = clean_structure_name(row.structure_name)
    if row.structure_acronym == row.structure_parent_acronym:
        structure = None  # human cells: the area is the structure
    elif structure and row.structure_acronym:
        structure = f"{structure} ({row.structure_acronym})"
    human = (row.donor_species or "").lower().startswith("homo")
    return _facts(
        [
            ("specimen_id", "Specimen id", row.specimen_id),
            ("species", "Species", row.donor_species),
            ("donor", "Donor", row.donor_name),
            ("age", "Age", row.donor_age),
            ("sex", "Sex", row.donor_sex),
            ("disease_state", "Disease state", row.donor_disease_state if human else None),
            ("seizure_history", "Years of seizure history", row.donor_years_of_seizure_history),
            ("area", "Brain area", area),
            ("structure", "Structure", structure),
            ("layer", "Cortical layer", row.structure_layer),
            ("depth", "Soma depth (normalized)", _depth(row.csl_normalized_depth)),
            ("hemisphere", "Hemisphere", row.specimen_hemisphere),
            ("line", "Transgenic line", row.line_name),
            ("reporter", "Reporter status", row.cell_reporter_status),
            ("dendrite_type", "Dendrite type", row.tag_dendrite_type),
            ("apical", "Apical dendrite", "n/a" if row.tag_apical == "NA" else row.tag_apical),
            ("reconstruction", "Reconstruction", row.nr_reconstruction_type),
        ]
    )


def _specimen_facts(specimen: Specimen) -> list[Fact]:
    donor = specimen.donor
    structure = specimen.structure
    tags = {}
    for tag in specimen.specimen_tags.all():
        kind, _, value = tag.name.partition(" - ")
        tags[kind] = value
    soma = next(iter(specimen.cell_soma_locations.all()), None)
    lines = ", ".join(line.name for line in donor.transgenic_lines.all()) if donor else None
    parent = structure.parent if structure else None
    return _facts(
        [
            ("specimen_id", "Specimen id", specimen.id),
            ("species", "Species", donor.organism.name if donor else None),
            ("donor", "Donor", donor.name if donor else None),
            ("age", "Age", donor.age if donor else None),
            ("sex", "Sex", donor.sex if donor else None),
            ("disease_state", "Disease state", donor.disease_state if donor else None),
            ("area", "Brain area", area_label(parent.acronym) if parent else None),
            ("structure", "Structure", clean_structure_name(structure.name) if structure else None),
            ("depth", "Soma depth (normalized)", _depth(soma.normalized_depth) if soma else None),
            ("hemisphere", "Hemisphere", specimen.hemisphere),
            ("line", "Transgenic line", lines),
            ("reporter", "Reporter status", specimen.cell_reporter.name if specimen.cell_reporter else None),
            ("dendrite_type", "Dendrite type", tags.get("dendrite type")),
            ("apical", "Apical dendrite", tags.get("apical")),
        ]
    )


@dataclass(frozen=True)
class SomaDepth:
    """The soma's normalized cortical depth (0 = pia, 1 = white matter) and layer, for the morphology tab's bar."""

    value: float
    layer: str | None
    top: float = 24.0  # where the bar runs in the picture (SVG units)
    height: float = 166.0

    @property
    def y(self) -> float:
        """The soma's height in the picture (clamped to the bar: Allen lists a few depths just outside 0..1)."""
        return round(self.top + self.height * min(max(self.value, 0.0), 1.0), 1)

    @property
    def bottom(self) -> float:
        return self.top + self.height


def soma_depth_get(cell: Cell) -> SomaDepth | None:
    """The depth of the cell table (csl normalized depth), else the specimen's soma location; None when unknown."""
    value, layer = None, None
    if cell.row is not None:
        value, layer = cell.row.csl_normalized_depth, cell.row.structure_layer
    elif cell.specimen is not None:
        soma = next(iter(cell.specimen.cell_soma_locations.all()), None)
        value = soma.normalized_depth if soma is not None else None
    if value is None or not math.isfinite(value):
        return None
    return SomaDepth(value=float(value), layer=layer or None)


# --- tabs -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureValue:
    name: str
    label: str
    unit: str
    value: Any
    computed: Any = None


def _feature_values(record: Model, labels: dict[str, FeatureLabel], skip: set[str]) -> list[FeatureValue]:
    values = []
    for model_field in record._meta.concrete_fields:
        name = model_field.attname
        if name in skip:
            continue
        label = labels.get(name, FeatureLabel(name.replace("_", " ")))
        value = getattr(record, name)
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        values.append(FeatureValue(name=name, label=label.label, unit=label.unit, value=value))
    return values


@dataclass(frozen=True)
class CellEphys:
    features: list[FeatureValue]
    sweeps: list[EphysSweep]
    files: list[WellKnownFile]


def cell_ephys_get(*, specimen_id: int) -> CellEphys:
    """The cell's EphysFeature record (Allen names with labels and units), its sweeps and its NWB files."""
    record = EphysFeature.objects.filter(specimen_id=specimen_id).first()
    features = _feature_values(record, EPHYS_FEATURE_LABELS, {"id", "specimen_id"}) if record else []
    sweeps = list(
        EphysSweep.objects.filter(specimen_id=specimen_id)
        .only("id", "sweep_number", "stimulus_name", "stimulus_absolute_amplitude", "stimulus_units", "num_spikes")
        .order_by("sweep_number")
    )
    files = list(
        WellKnownFile.objects.filter(ephys_result__specimen__id=specimen_id).select_related("well_known_file_type")
    )
    return CellEphys(features=features, sweeps=sweeps, files=files)


@dataclass(frozen=True)
class MorphologyFile:
    """A reconstruction file (SWC or marker) and whether the file store holds it (else the link 404s here)."""

    file: WellKnownFile
    held: bool

    @property
    def kind(self) -> str:
        return self.file.well_known_file_type.name


@dataclass(frozen=True)
class MorphologyPreview:
    """One rendered projection as the tab first shows it: ready (the image) or pending (an htmx fragment polls)."""

    plane: str
    state: str  # "ready" or "pending"


@dataclass(frozen=True)
class CellMorphology:
    """The morphology tab.

    ``reconstruction`` is Allen's current record; ``drawn`` is the reconstruction whose SWC the file store holds
    (the current one, or an older one for some cells), drawn in 3D and compared in ``comparison``.
    """

    reconstruction: NeuronReconstruction | None
    features: list[FeatureValue] = field(default_factory=list)
    files: list[MorphologyFile] = field(default_factory=list)
    superseded: int = 0
    drawn: NeuronReconstruction | None = None
    swc_file: WellKnownFile | None = None
    comparison: MorphologyComparison | None = None
    previews: list[MorphologyPreview] = field(default_factory=list)
    compute_error: str | None = None  # features could not be computed for a reason other than a malformed SWC

    @property
    def read_error(self) -> str | None:
        """The reader's message (naming the line) when the held SWC is malformed."""
        return self.comparison.error if self.comparison is not None else None

    @property
    def not_computed(self) -> tuple[str, ...]:
        """Features this site does not compute at all (their rows say so rather than "expected to differ")."""
        return tuple(NOT_COMPUTED)

    @property
    def drawn_is_older(self) -> bool:
        return self.drawn is not None and self.drawn.superseded

    @property
    def current_features(self) -> dict[str, Any]:
        """Allen's published values of the current record, by column (shown beside an older drawn one)."""
        return {feature.name: feature.value for feature in self.features}


def cell_morphology_get(*, specimen_id: int) -> CellMorphology:
    """The current (not superseded) reconstruction's published features and files, and the held SWC's comparison.

    Features of the held SWC are computed in the request when missing or stale (about 10 ms for 10,000 nodes;
    ``computed_morphology_update`` stores them and does nothing while the SWC's sha256 is unchanged). A malformed
    SWC stores its read error instead, which the tab shows; nothing here raises for a bad file.
    """
    files = Prefetch(
        "well_known_files",
        queryset=WellKnownFile.objects.filter(well_known_file_type__name__in=RECONSTRUCTION_FILE_TYPES)
        .select_related("well_known_file_type")
        .order_by("well_known_file_type_id", "id"),
    )
    reconstructions = list(
        NeuronReconstruction.objects.filter(specimen_id=specimen_id)
        .select_related("computed")
        .prefetch_related(files)
        .order_by("superseded", "-id")
    )
    current = next((r for r in reconstructions if not r.superseded), None)
    superseded = sum(1 for r in reconstructions if r.superseded)
    drawn, swc = _held_swc(reconstructions)
    features: list[FeatureValue] = []
    if current is not None:
        skip = {"id", "specimen_id", "neuron_reconstruction_type", "superseded", "tags"}
        order = {name: index for index, name in enumerate(MORPHOLOGY_COLUMNS)}  # as the comparison lists them
        features = sorted(
            _feature_values(current, MORPHOLOGY_FEATURE_LABELS, skip), key=lambda f: order.get(f.name, len(order))
        )
    comparison, compute_error = (None, None) if drawn is None or swc is None else _comparison(drawn, swc)
    listed = [r for r in (drawn, current) if r is not None]
    shown = list(dict.fromkeys(listed))  # the drawn reconstruction's files first, then the current one's
    return CellMorphology(
        reconstruction=current,
        features=features,
        files=[
            MorphologyFile(wkf, filestore.has_well_known_file(wkf.id))
            for r in shown
            for wkf in r.well_known_files.all()
        ],
        superseded=superseded,
        drawn=drawn,
        swc_file=swc,
        comparison=comparison,
        previews=_previews(swc) if swc is not None and comparison is not None and not comparison.error else [],
        compute_error=compute_error,
    )


def _held_swc(
    reconstructions: list[NeuronReconstruction],
) -> tuple[NeuronReconstruction | None, WellKnownFile | None]:
    """The reconstruction to draw and its SWC, chosen as ``cell_reconstruction_with_swc`` does (prefetched)."""
    for reconstruction in reconstructions:  # current first, then the newest superseded
        swcs = sorted(
            (
                w
                for w in reconstruction.well_known_files.all()
                if w.well_known_file_type_id == choices.RECONSTRUCTION[0]
            ),
            key=lambda w: -w.id,
        )
        for wkf in swcs:
            if filestore.has_well_known_file(wkf.id):
                return reconstruction, wkf
    return None, None


def _comparison(
    reconstruction: NeuronReconstruction, swc: WellKnownFile
) -> tuple[MorphologyComparison | None, str | None]:
    """Compute the features when missing or stale (not of these very SWC bytes), then compare.

    A failure other than a malformed SWC (which the comparison reports as its error) is logged, not raised.
    """
    try:
        stored = reconstruction.computed
    except NeuronReconstruction.computed.RelatedObjectDoesNotExist:
        stored = None
    try:
        if stored is None or stored.source_sha256 != filestore.sha256_of(filestore.well_known_file_path(swc.id)):
            computed_morphology_update(reconstruction_id=reconstruction.pk)
    except (SwcNotHeld, OSError, DatabaseError) as exc:
        log.warning("could not compute the features of reconstruction %s", reconstruction.pk, exc_info=True)
        return morphology_comparison(reconstruction), f"The features could not be computed here ({exc})."
    return morphology_comparison(reconstruction), None


def _previews(swc: WellKnownFile) -> list[MorphologyPreview]:
    """Each projection's state from the file store alone (a ready image shows at once; a missing one is asked
    for by its htmx fragment, which queues the render)."""
    previews = []
    for plane in PREVIEW_PLANES:
        try:
            ready = morphology_preview_status(swc_file_id=swc.pk, plane=plane, fmt="png").state is PreviewState.READY
        except OSError:
            ready = False
        previews.append(MorphologyPreview(plane, "ready" if ready else "pending"))
    return previews


@dataclass(frozen=True)
class CellModels:
    models: list[NeuronalModel]
    glif: int | None
    perisomatic: int | None
    all_active: int | None


def cell_models_get(*, specimen_id: int, row: ApiCellTypesSpecimenDetail | None) -> CellModels:
    """The neuronal models this copy holds for the cell, with Allen's per-cell model counts from the table."""
    models = list(
        NeuronalModel.objects.filter(specimen_id=specimen_id)
        .select_related("neuronal_model_template")
        .order_by("neuronal_model_template__name", "id")
    )
    return CellModels(
        models=models,
        glif=row.m_glif if row else None,
        perisomatic=row.m_biophys_perisomatic if row else None,
        all_active=row.m_biophys_all_active if row else None,
    )
