"""Reads of a cell's electrophysiology: Allen's EphysFeature record, the sweep table and the recording files."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from celltypes.atlas.models import EphysFeature, EphysSweep, WellKnownFile


@dataclass(frozen=True)
class CellEphys:
    record: EphysFeature | None
    sweeps: list[EphysSweep]
    files: list[WellKnownFile]


def cell_ephys_get(*, specimen_id: int) -> CellEphys:
    """The cell's EphysFeature record, its sweeps (by sweep number) and its NWB files."""
    sweeps = list(
        EphysSweep.objects.filter(specimen_id=specimen_id)
        .only("id", "sweep_number", "stimulus_name", "stimulus_absolute_amplitude", "stimulus_units", "num_spikes")
        .order_by("sweep_number")
    )
    files = list(
        WellKnownFile.objects.filter(ephys_result__specimen__id=specimen_id).select_related("well_known_file_type")
    )
    return CellEphys(record=EphysFeature.objects.filter(specimen_id=specimen_id).first(), sweeps=sweeps, files=files)


def sweeps() -> QuerySet[EphysSweep]:
    """Every sweep record (the REST API pages and filters it), by specimen and sweep number."""
    return EphysSweep.objects.order_by("specimen_id", "sweep_number")


def ephys_features() -> QuerySet[EphysFeature]:
    """Every cell's EphysFeature record (Allen's 56 columns)."""
    return EphysFeature.objects.order_by("specimen_id")
