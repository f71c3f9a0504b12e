"""Serializers of the REST API: read-only, finite floats (NaN and infinities become null), and sparse fields
(``?fields=a,b``) for every list and record."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from celltypes.atlas.models import (
    ApiCellTypesSpecimenDetail,
    EphysFeature,
    EphysSweep,
    NeuronalModel,
    NeuronReconstruction,
    WellKnownFile,
)
from celltypes.atlas.selectors.search import ALLEN_FIELDS
from celltypes.atlas.vocabulary import MORPHOLOGY_COLUMNS
from celltypes.science.values import finite_or_none

MAX_FIELDS_LENGTH = 2000


class FiniteFloatField(serializers.FloatField):
    def to_representation(self, value: Any) -> float | None:
        return finite_or_none(float(value))


@extend_schema_field(OpenApiTypes.URI)
class LinkField(serializers.Field):
    """A link built from the row by `build(row)`: a path, made absolute with the request's host."""

    def __init__(self, build: Any, **kwargs: Any) -> None:
        self.build = build
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, row: Any) -> str | None:
        path = self.build(row)
        if path is None:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


def requested_fields(request: Any, available: list[str]) -> list[str] | None:
    """The names `?fields=` asks for (None: all); a 400 naming any unknown one."""
    raw = request.query_params.get("fields") if request is not None else None
    if raw is None:
        return None
    if len(raw) > MAX_FIELDS_LENGTH:
        raise ValidationError({"fields": f"At most {MAX_FIELDS_LENGTH} characters."})
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if not names or unknown:
        raise ValidationError(
            {"fields": f"Unknown field(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(available)}."}
        )
    return list(dict.fromkeys(names))


class ReadOnlyModelSerializer(serializers.ModelSerializer):
    """Every field read-only; floats finite or null; `?fields=` keeps only the fields named."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.FloatField: FiniteFloatField,
    }

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only, field.required = True, False
        wanted = requested_fields(self.context.get("request"), list(fields))
        if wanted is not None:
            fields = {name: fields[name] for name in wanted}
        return fields


def _cell_page(specimen_id: int) -> str:
    return reverse("web:cell_detail", args=[specimen_id])


def _api(name: str, pk: Any) -> str:
    return reverse(f"api:{name}-detail", args=[pk])


class CellSerializer(ReadOnlyModelSerializer):
    """A row of Allen's cell table under Allen's 54 column names, as in the search page's downloads."""

    url = LinkField(lambda row: _api("cell", row.specimen_id), help_text="This record.")
    page_url = LinkField(lambda row: _cell_page(row.specimen_id), help_text="The cell's page.")

    class Meta:
        model = ApiCellTypesSpecimenDetail
        fields = ["url", "page_url", *(name for name, _ in ALLEN_FIELDS)]

    def get_fields(self) -> dict[str, serializers.Field]:
        # Allen's column names (`ef__tau`) are the public names; Django's (`ef_tau`) are the sources.
        allen = dict(ALLEN_FIELDS)
        fields = serializers.ModelSerializer.get_fields(self)
        renamed: dict[str, serializers.Field] = {}
        for name, field in fields.items():
            field.read_only, field.required = True, False
            if name in allen and allen[name] != name:
                field.source = name
                renamed[allen[name]] = field
            elif name in allen:
                renamed[name] = field
            else:
                renamed[name] = field
        wanted = requested_fields(self.context.get("request"), list(renamed))
        return renamed if wanted is None else {name: renamed[name] for name in wanted}


class SweepSerializer(ReadOnlyModelSerializer):
    specimen_id = serializers.IntegerField(read_only=True)
    cell_url = LinkField(lambda sweep: _api("cell", sweep.specimen_id), help_text="The cell's API record.")
    page_url = LinkField(lambda sweep: reverse("web:cell_ephys", args=[sweep.specimen_id]))

    class Meta:
        model = EphysSweep
        exclude = ["specimen", "sampling_rate"]


class EphysFeatureSerializer(ReadOnlyModelSerializer):
    specimen_id = serializers.IntegerField(read_only=True)
    cell_url = LinkField(lambda record: _api("cell", record.specimen_id), help_text="The cell's API record.")
    page_url = LinkField(lambda record: reverse("web:cell_ephys", args=[record.specimen_id]))

    class Meta:
        model = EphysFeature
        exclude = ["specimen"]


class MorphologyFeatureSerializer(ReadOnlyModelSerializer):
    """Allen's published features of a cell's current reconstruction."""

    specimen_id = serializers.IntegerField(read_only=True)
    reconstruction_url = LinkField(lambda recon: _api("reconstruction", recon.pk))
    page_url = LinkField(lambda recon: reverse("web:cell_morphology", args=[recon.specimen_id]))

    class Meta:
        model = NeuronReconstruction
        fields = [
            "id",
            "specimen_id",
            "neuron_reconstruction_type",
            "reconstruction_url",
            "page_url",
            *MORPHOLOGY_COLUMNS,
        ]


class ReconstructionSerializer(ReadOnlyModelSerializer):
    specimen_id = serializers.IntegerField(read_only=True)
    cell_url = LinkField(lambda recon: _api("cell", recon.specimen_id), help_text="The cell's API record.")
    page_url = LinkField(lambda recon: reverse("web:cell_morphology", args=[recon.specimen_id]))

    class Meta:
        model = NeuronReconstruction
        exclude = ["specimen"]


class NeuronalModelSerializer(ReadOnlyModelSerializer):
    specimen_id = serializers.IntegerField(read_only=True)
    neuronal_model_template_id = serializers.IntegerField(read_only=True)
    template_name = serializers.CharField(source="neuronal_model_template.name", read_only=True)
    download_link = LinkField(lambda model: reverse("model-download", args=[model.pk]))
    cell_url = LinkField(lambda model: _api("cell", model.specimen_id), help_text="The cell's API record.")
    page_url = LinkField(lambda model: reverse("web:cell_models", args=[model.specimen_id]))

    class Meta:
        model = NeuronalModel
        fields = [
            "id",
            "name",
            "specimen_id",
            "neuronal_model_template_id",
            "template_name",
            "neuron_reconstruction_id",
            "download_link",
            "cell_url",
            "page_url",
        ]


class WellKnownFileSerializer(ReadOnlyModelSerializer):
    """A file's record. `held` says whether this copy holds the bytes now; `size` and `sha256` are given only then.
    A download of a file not held is fetched from the upstream once (or answers 404 when offline)."""

    file_type = serializers.CharField(source="well_known_file_type.name", read_only=True)
    file_name = serializers.CharField(read_only=True)
    download_link = LinkField(lambda wkf: wkf.download_link)
    held = serializers.SerializerMethodField()
    size = serializers.SerializerMethodField()
    sha256 = serializers.SerializerMethodField()

    class Meta:
        model = WellKnownFile
        fields = [
            "id",
            "file_name",
            "file_type",
            "attachable_type",
            "attachable_id",
            "path",
            "download_link",
            "held",
            "size",
            "sha256",
        ]

    def _held(self, wkf: WellKnownFile) -> bool:
        return wkf.pk in self.context.get("held_file_ids", set())

    def get_held(self, wkf: WellKnownFile) -> bool:
        return self._held(wkf)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_size(self, wkf: WellKnownFile) -> int | None:
        return wkf.size if self._held(wkf) else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_sha256(self, wkf: WellKnownFile) -> str | None:
        return wkf.sha256 if self._held(wkf) else None
