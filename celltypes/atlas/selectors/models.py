"""Reads of a cell's neuronal models."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, NeuronalModel


@dataclass(frozen=True)
class CellModels:
    models: list[NeuronalModel]
    glif: int | None  # Allen's per-cell counts from the cell table
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


def neuronal_models() -> QuerySet[NeuronalModel]:
    """Every neuronal model held here, with its template (one query)."""
    return NeuronalModel.objects.select_related("neuronal_model_template").order_by("id")
