"""What this copy holds, in numbers: the home page's summary."""

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, NeuronalModel, Specimen
from celltypes.atlas.vocabulary import HUMAN, MOUSE


@dataclass(frozen=True)
class AtlasSummary:
    cells: int
    mouse_cells: int
    human_cells: int
    species: int
    reconstructions: int
    full_reconstructions: int
    dendrite_only_reconstructions: int
    cells_with_glif: int
    glif_models: int
    cells_with_perisomatic: int
    cells_with_all_active: int
    biophysical_models: int
    other_specimens: int
    models_held: int


def atlas_summary_get() -> AtlasSummary:
    """Counts from the cell table (Allen's published numbers) plus what we hold beyond it."""
    table = ApiCellTypesSpecimenDetail.objects.aggregate(
        cells=Count("specimen_id"),
        mouse=Count("specimen_id", filter=Q(donor_species__in=MOUSE.spellings)),
        human=Count("specimen_id", filter=Q(donor_species__in=HUMAN.spellings)),
        species=Count("donor_species", distinct=True),
        recon=Count("specimen_id", filter=Q(nr_reconstruction_type__isnull=False)),
        full=Count("specimen_id", filter=Q(nr_reconstruction_type="full")),
        dendrite=Count("specimen_id", filter=Q(nr_reconstruction_type="dendrite-only")),
        with_glif=Count("specimen_id", filter=Q(m_glif__gt=0)),
        glif=Sum("m_glif"),
        with_peri=Count("specimen_id", filter=Q(m_biophys_perisomatic__gt=0)),
        with_aa=Count("specimen_id", filter=Q(m_biophys_all_active__gt=0)),
        biophys=Sum("m_biophys"),
    )
    others = Specimen.objects.exclude(id__in=ApiCellTypesSpecimenDetail.objects.values("specimen_id")).count()
    return AtlasSummary(
        cells=table["cells"],
        mouse_cells=table["mouse"],
        human_cells=table["human"],
        species=table["species"],
        reconstructions=table["recon"],
        full_reconstructions=table["full"],
        dendrite_only_reconstructions=table["dendrite"],
        cells_with_glif=table["with_glif"],
        glif_models=table["glif"] or 0,
        cells_with_perisomatic=table["with_peri"],
        cells_with_all_active=table["with_aa"],
        biophysical_models=table["biophys"] or 0,
        other_specimens=others,
        models_held=NeuronalModel.objects.count(),
    )
