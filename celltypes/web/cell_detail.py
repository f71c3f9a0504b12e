"""Reads for the cell page: the specimen's facts and what the database holds for each tab.

A cell of Allen's table has a row in ApiCellTypesSpecimenDetail; specimens loaded from NWB files do not, so every
read falls back to the normalised tables and shows what exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, Prefetch

from celltypes.atlas import choices
from celltypes.atlas.models import (
    ApiCellTypesSpecimenDetail,
    EphysFeature,
    EphysSweep,
    NeuronalModel,
    NeuronReconstruction,
    Specimen,
    WellKnownFile,
)
from celltypes.web.facets import area_label
from celltypes.web.feature_labels import EPHYS_FEATURE_LABELS, MORPHOLOGY_FEATURE_LABELS, FeatureLabel

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
class CellMorphology:
    reconstruction: NeuronReconstruction | None
    features: list[FeatureValue] = field(default_factory=list)
    files: list[WellKnownFile] = field(default_factory=list)
    superseded: int = 0

    @property
    def has_computed(self) -> bool:
        return any(feature.computed is not None for feature in self.features)


def cell_morphology_get(*, specimen_id: int) -> CellMorphology:
    """The current (not superseded) reconstruction's published features, computed ones beside them, and files."""
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
    if current is None:
        return CellMorphology(reconstruction=None, superseded=superseded)
    skip = {"id", "specimen_id", "neuron_reconstruction_type", "superseded", "tags"}
    features = _feature_values(current, MORPHOLOGY_FEATURE_LABELS, skip)
    computed = _computed_features(current)
    if computed:
        features = [FeatureValue(f.name, f.label, f.unit, f.value, computed.get(f.name)) for f in features]
    return CellMorphology(
        reconstruction=current,
        features=features,
        files=list(current.well_known_files.all()),
        superseded=superseded,
    )


def _computed_features(reconstruction: NeuronReconstruction) -> dict[str, Any]:
    try:
        computed = reconstruction.computed
    except NeuronReconstruction.computed.RelatedObjectDoesNotExist:
        return {}
    if computed.error or not isinstance(computed.features, dict):
        return {}
    return computed.features


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
