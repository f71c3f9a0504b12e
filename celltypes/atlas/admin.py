"""Django admin for staff: the imported Allen tables are read-only (they are Allen's records)."""

from django.contrib import admin

from celltypes.atlas import models as m


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(m.ApiCellTypesSpecimenDetail)
class SpecimenDetailAdmin(ReadOnlyAdmin):
    list_display = (
        "specimen_id",
        "specimen_name",
        "donor_species",
        "structure_acronym",
        "structure_layer",
        "tag_dendrite_type",
        "nr_reconstruction_type",
    )
    list_filter = ("donor_species", "tag_dendrite_type", "nr_reconstruction_type", "structure_layer")
    search_fields = ("specimen_name", "line_name", "structure_acronym")


@admin.register(m.Specimen)
class SpecimenAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "hemisphere", "donor", "structure")
    search_fields = ("name",)
    list_select_related = ("donor", "structure")


@admin.register(m.WellKnownFile)
class WellKnownFileAdmin(ReadOnlyAdmin):
    list_display = ("id", "attachable_type", "attachable_id", "well_known_file_type", "path", "size")
    list_filter = ("well_known_file_type", "attachable_type")


@admin.register(m.NeuronalModel)
class NeuronalModelAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "specimen_id", "neuronal_model_template")
    list_filter = ("neuronal_model_template",)


for model in (
    m.Organism,
    m.Donor,
    m.Structure,
    m.TransgenicLine,
    m.SpecimenTag,
    m.CellReporter,
    m.Product,
    m.CellSomaLocation,
    m.EphysResult,
    m.EphysSweep,
    m.EphysFeature,
    m.NeuronReconstruction,
    m.NeuronalModelTemplate,
    m.NeuronalModelRun,
    m.WellKnownFileType,
    m.ComputedMorphology,
    m.SectionDataSet,
    m.SubImage,
    m.ProjectionImage,
):
    admin.site.register(model, ReadOnlyAdmin)
