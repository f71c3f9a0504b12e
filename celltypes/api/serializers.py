"""Serializers of the REST API: read-only, finite floats (NaN and infinities become null), and sparse fields
(``?fields=a,b``) for every list and record."""

from __future__ import annotations

from operator import attrgetter
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


SENTINEL = 9_876_543_210_123


@extend_schema_field(OpenApiTypes.URI)
class LinkField(serializers.Field):
    """The absolute link of a named URL whose one argument is the row's `attribute` (an id).

    The URL is reversed once per request with a sentinel id and then filled in per row (a reverse per row cost
    two thirds of a 100-cell page).
    """

    def __init__(self, url_name: str, attribute: str, **kwargs: Any) -> None:
        self.url_name, self.attribute = url_name, attribute
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, row: Any) -> str | None:
        return self.reader(self.context.get("request"))(row)

    def reader(self, request: Any, attribute: str | None = None) -> Any:
        """A function of a row giving its link (absolute with the request's host); `attribute` names the row's id
        column when the row is not a model instance (a named tuple has no `pk`)."""
        path = reverse(self.url_name, args=[SENTINEL])
        url = request.build_absolute_uri(path) if request is not None else path
        head, tail = url.split(str(SENTINEL))
        attribute = attribute or self.attribute

        def link(row: Any) -> str | None:
            value = getattr(row, attribute)
            return None if value is None else f"{head}{value}{tail}"

        return link


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


# Fields whose representation is the model attribute itself (or None): read with one getattr per row.
PLAIN_FIELDS = (serializers.IntegerField, serializers.CharField, serializers.BooleanField)

# How each serializer class reads its fields, worked out once: [(name, kind, argument)].
_CLASS_PLANS: dict[type, list[tuple[str, str, Any]]] = {}


def _class_plan(serializer_class: type[serializers.Serializer]) -> list[tuple[str, str, Any]]:
    plan = _CLASS_PLANS.get(serializer_class)
    if plan is None:
        plan = []
        for name, field in serializer_class(context={}).fields.items():
            if isinstance(field, LinkField):
                plan.append((name, "link", field))
            elif field.source != "*" and isinstance(field, FiniteFloatField) and "." not in field.source:
                plan.append((name, "float", field.source))
            elif field.source != "*" and type(field) in PLAIN_FIELDS:
                plan.append((name, "attribute", field.source))
            else:
                plan.append((name, "drf", None))
        _CLASS_PLANS[serializer_class] = plan
    return plan


def lean_columns(serializer_class: type[serializers.Serializer]) -> tuple[str, ...] | None:
    """The columns a list page of this serializer reads, when every field reads one column of its own row: the page
    is then read as named tuples of those columns rather than model instances (a third of a 100-row page's time);
    None when a field needs the instance (a method field, a related row)."""
    model = serializer_class.Meta.model
    columns = {field.attname for field in model._meta.concrete_fields}
    needed = []
    for _, kind, argument in _class_plan(serializer_class):
        if kind == "link":
            needed.append(_link_column(model, argument.attribute))
        elif kind in ("attribute", "float"):
            needed.append(argument)
        else:
            return None
    return tuple(dict.fromkeys(needed)) if set(needed) <= columns else None


def _link_column(model: type[models.Model], attribute: str) -> str:
    return model._meta.pk.attname if attribute == "pk" else attribute


def _float_reader(name: str) -> Any:
    return lambda row: None if (value := getattr(row, name)) is None else finite_or_none(float(value))


def _drf_reader(field: serializers.Field) -> Any:
    def read(row: Any) -> Any:
        value = field.get_attribute(row)
        return None if value is None else field.to_representation(value)

    return read


class ReadOnlyModelSerializer(serializers.ModelSerializer):
    """Every field read-only; floats finite or null; `?fields=` keeps only the fields named.

    Rows are written by a plan (a reader per field) worked out once per class: building DRF's fields for every
    request and reading each row through them cost four fifths of a 100-cell page's time. Fields of other kinds
    (method fields) still go through DRF.
    """

    def _row_plan(self) -> list[tuple[str, Any]]:
        plan = self.__dict__.get("_row_readers")
        if plan is not None:
            return plan
        kinds = {name: (kind, argument) for name, kind, argument in _class_plan(type(self))}
        wanted = requested_fields(self.context.get("request"), list(kinds)) or list(kinds)
        request = self.context.get("request")
        plan = []
        for name in wanted:
            kind, argument = kinds[name]
            if kind == "float":
                plan.append((name, _float_reader(argument)))
            elif kind == "attribute":
                plan.append((name, attrgetter(argument)))
            elif kind == "link":
                plan.append((name, argument.reader(request, _link_column(self.Meta.model, argument.attribute))))
            else:
                plan.append((name, _drf_reader(self.fields[name])))
        self.__dict__["_row_readers"] = plan
        return plan

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {name: read(instance) for name, read in self._row_plan()}

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


class CellSerializer(ReadOnlyModelSerializer):
    """A row of Allen's cell table under Allen's 54 column names, as in the search page's downloads."""

    url = LinkField("api:cell-detail", "specimen_id", help_text="This record.")
    page_url = LinkField("web:cell_detail", "specimen_id", help_text="The cell's page.")

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
    cell_url = LinkField("api:cell-detail", "specimen_id", help_text="The cell's API record.")
    page_url = LinkField("web:cell_ephys", "specimen_id")

    class Meta:
        model = EphysSweep
        exclude = ["specimen", "sampling_rate"]


class EphysFeatureSerializer(ReadOnlyModelSerializer):
    specimen_id = serializers.IntegerField(read_only=True)
    cell_url = LinkField("api:cell-detail", "specimen_id", help_text="The cell's API record.")
    page_url = LinkField("web:cell_ephys", "specimen_id")

    class Meta:
        model = EphysFeature
        exclude = ["specimen"]


class MorphologyFeatureSerializer(ReadOnlyModelSerializer):
    """Allen's published features of a cell's current reconstruction."""

    specimen_id = serializers.IntegerField(read_only=True)
    reconstruction_url = LinkField("api:reconstruction-detail", "pk")
    page_url = LinkField("web:cell_morphology", "specimen_id")

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
    cell_url = LinkField("api:cell-detail", "specimen_id", help_text="The cell's API record.")
    page_url = LinkField("web:cell_morphology", "specimen_id")

    class Meta:
        model = NeuronReconstruction
        exclude = ["specimen"]


class NeuronalModelSerializer(ReadOnlyModelSerializer):
    specimen_id = serializers.IntegerField(read_only=True)
    neuronal_model_template_id = serializers.IntegerField(read_only=True)
    template_name = serializers.CharField(source="neuronal_model_template.name", read_only=True)
    download_link = LinkField("model-download", "pk")
    cell_url = LinkField("api:cell-detail", "specimen_id", help_text="The cell's API record.")
    page_url = LinkField("web:cell_models", "specimen_id")

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
    download_link = LinkField("wkf-download", "pk")
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
