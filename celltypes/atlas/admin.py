"""Django admin for staff: the imported Allen tables are read-only (they are Allen's records); a lab's own NWB
recordings are uploaded here (the add view of Lab recordings) and removed whole."""

import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from celltypes.atlas import filestore
from celltypes.atlas import models as m
from celltypes.atlas.services.lab_recordings import LabImportError, lab_recording_delete, lab_recording_import


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


class LabRecordingUploadForm(forms.Form):
    file = forms.FileField(label="NWB file", help_text="NWB 2, MIES NWB 1 or Allen NWB 1, with current-clamp sweeps")
    name = forms.CharField(required=False, max_length=200, help_text="default: the name the file stores")
    species = forms.CharField(required=False, max_length=100, help_text="e.g. mouse, human")


@admin.register(m.LabRecording)
class LabRecordingAdmin(admin.ModelAdmin):
    """A lab's own recordings: "Add" uploads and imports one (as ``manage.py import_nwb`` does); nothing is edited;
    deleting removes the specimen, its sweeps and the stored file with it."""

    list_display = ("specimen_id", "specimen", "file_name", "species", "layout", "size", "imported_at")
    readonly_fields = ("specimen", "file_name", "sha256", "size", "layout", "nwb_version", "species", "imported_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request, form_url="", extra_context=None):
        form = LabRecordingUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                record = _import_upload(upload, form.cleaned_data["name"], form.cleaned_data["species"])
            except LabImportError as exc:
                form.add_error("file", f"Not imported, nothing was changed: {exc}")
            else:
                count = record.specimen.ephys_sweeps.count()
                messages.success(
                    request, f"Imported {record.file_name} as specimen {record.specimen_id} ({count} sweeps)."
                )
                return redirect("admin:atlas_labrecording_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a lab's NWB recording",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/atlas/labrecording/upload.html", context)

    def delete_model(self, request, obj) -> None:
        lab_recording_delete(specimen_id=obj.specimen_id)

    def delete_queryset(self, request, queryset) -> None:
        for specimen_id in list(queryset.values_list("specimen_id", flat=True)):
            lab_recording_delete(specimen_id=specimen_id)


def _import_upload(upload, name: str, species: str) -> m.LabRecording:
    """The uploaded file, written whole to the data directory first (the import reads it from a path)."""
    staging = filestore.data_dir() / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=staging, suffix=".nwb") as held:
        for chunk in upload.chunks():
            held.write(chunk)
        held.flush()
        return lab_recording_import(source=Path(held.name), file_name=upload.name, name=name, species=species)
