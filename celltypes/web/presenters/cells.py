"""The cell page's facts, its soma-depth bar, and the published-feature tables (web/_feature_table.html)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Model

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, Specimen
from celltypes.atlas.selectors.cells import Cell
from celltypes.atlas.vocabulary import (
    EPHYS_FEATURE_LABELS,
    MORPHOLOGY_COLUMNS,
    MORPHOLOGY_FEATURE_LABELS,
    FeatureLabel,
    area_label,
    clean_structure_name,
    species_of,
)
from celltypes.science.values import finite_or_none

# --- the cell's facts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    key: str = ""


def cell_facts(cell: Cell) -> list[Fact]:
    """The overview's facts: from the cell table where the cell has a row, else from the normalised records."""
    if cell.row is not None:
        return _row_facts(cell.row)
    return _specimen_facts(cell.specimen) if cell.specimen is not None else []


def _facts(pairs: list[tuple[str, str, Any]]) -> list[Fact]:
    return [Fact(label, str(value), key) for key, label, value in pairs if value not in (None, "")]


def _depth(value: float | None) -> str | None:
    if value is None or not math.isfinite(value):
        return None
    return f"{value:.3f} (0 = pia, 1 = white matter)"


def _row_facts(row: ApiCellTypesSpecimenDetail) -> list[Fact]:
    structure = clean_structure_name(row.structure_name)
    if row.structure_acronym == row.structure_parent_acronym:
        structure = None  # human cells: the area is the structure
    elif structure and row.structure_acronym:
        structure = f"{structure} ({row.structure_acronym})"
    species = species_of(row.donor_species)
    human = species is not None and species.key == "human"
    return _facts(
        [
            ("specimen_id", "Specimen id", row.specimen_id),
            ("species", "Species", row.donor_species),
            ("donor", "Donor", row.donor_name),
            ("age", "Age", row.donor_age),
            ("sex", "Sex", row.donor_sex),
            ("disease_state", "Disease state", row.donor_disease_state if human else None),
            ("seizure_history", "Years of seizure history", row.donor_years_of_seizure_history),
            ("area", "Brain area", area_label(row.structure_parent_acronym)),
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


# --- soma depth bar ----------------------------------------------------------------------------------------------


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


def soma_depth(depth: tuple[float, str | None] | None) -> SomaDepth | None:
    return SomaDepth(value=depth[0], layer=depth[1]) if depth is not None else None


# --- feature tables ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureValue:
    """One row of a published-feature table (web/_feature_table.html)."""

    name: str
    label: str
    unit: str
    value: Any


def feature_rows(
    record: Model | None, labels: dict[str, FeatureLabel], *, skip: set[str], order: tuple[str, ...] = ()
) -> list[FeatureValue]:
    """Every concrete field of ``record`` (Allen's names) with its label and unit; NaN shown as missing."""
    if record is None:
        return []
    rank = {name: index for index, name in enumerate(order)}
    rows = []
    for model_field in record._meta.concrete_fields:
        name = model_field.attname
        if name in skip:
            continue
        label = labels.get(name, FeatureLabel(name.replace("_", " ")))
        rows.append(FeatureValue(name, label.label, label.unit, finite_or_none(getattr(record, name))))
    return sorted(rows, key=lambda row: rank.get(row.name, len(rank))) if order else rows


def ephys_feature_rows(record: Model | None) -> list[FeatureValue]:
    return feature_rows(record, EPHYS_FEATURE_LABELS, skip={"id", "specimen_id"})


def morphology_feature_rows(record: Model | None) -> list[FeatureValue]:
    skip = {"id", "specimen_id", "neuron_reconstruction_type", "superseded", "tags"}
    return feature_rows(record, MORPHOLOGY_FEATURE_LABELS, skip=skip, order=MORPHOLOGY_COLUMNS)
