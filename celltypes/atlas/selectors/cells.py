"""Reads of one cell: its row of Allen's cell table, or (for specimens loaded from NWB files, which have none)
its normalised records."""

from __future__ import annotations

import math
from dataclasses import dataclass

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, LabRecording, Specimen

MAX_SPECIMEN_ID = 2**63 - 1  # the largest id a database integer column holds


@dataclass(frozen=True)
class Cell:
    specimen_id: int
    name: str
    species: str | None  # Allen's organism name, as stored
    row: ApiCellTypesSpecimenDetail | None
    specimen: Specimen | None

    @property
    def in_cell_table(self) -> bool:
        return self.row is not None

    @property
    def lab_recording(self) -> LabRecording | None:
        """The lab upload this specimen was made from (never Allen's record); None for Allen's specimens."""
        return getattr(self.specimen, "lab_recording", None) if self.specimen is not None else None


def cell_get(*, specimen_id: int) -> Cell | None:
    """The specimen's cell-table row and normalised record (either may be missing); None when neither exists."""
    if not 0 < specimen_id <= MAX_SPECIMEN_ID:
        return None
    row = ApiCellTypesSpecimenDetail.objects.filter(specimen_id=specimen_id).first()
    specimen = (
        Specimen.objects.select_related("donor__organism", "structure__parent", "cell_reporter", "lab_recording")
        .prefetch_related("specimen_tags", "cell_soma_locations", "donor__transgenic_lines")
        .filter(id=specimen_id)
        .first()
    )
    if row is None and specimen is None:
        return None
    name = (row.specimen_name if row else None) or (specimen.name if specimen else "") or str(specimen_id)
    return Cell(specimen_id=specimen_id, name=name, species=_species(row, specimen), row=row, specimen=specimen)


def _species(row: ApiCellTypesSpecimenDetail | None, specimen: Specimen | None) -> str | None:
    if row is not None and row.donor_species:
        return row.donor_species
    if specimen is not None and specimen.donor is not None:
        return specimen.donor.organism.name
    lab = getattr(specimen, "lab_recording", None) if specimen is not None else None
    return lab.species or None if lab is not None else None


def soma_depth_get(cell: Cell) -> tuple[float, str | None] | None:
    """(normalized depth, layer): the cell table's csl depth, else the specimen's soma location; None when unknown."""
    value, layer = None, None
    if cell.row is not None:
        value, layer = cell.row.csl_normalized_depth, cell.row.structure_layer
    elif cell.specimen is not None:
        soma = next(iter(cell.specimen.cell_soma_locations.all()), None)
        value = soma.normalized_depth if soma is not None else None
    if value is None or not math.isfinite(value):
        return None
    return float(value), layer or None
