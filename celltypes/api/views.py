"""The REST API's read-only viewsets. Each takes its rows from an atlas selector; DRF adds only the generic steps
(filter by the backends below, page by keyset, look one record up by its id)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from celltypes.api import serializers
from celltypes.api.filters import CellSearchFilter, IdFilter, WhitelistOrdering, cell_search_arguments
from celltypes.api.renderers import FastJSONRenderer
from celltypes.atlas.models import EphysFeature, EphysSweep, NeuronReconstruction, WellKnownFile
from celltypes.atlas.selectors import ephys, files, models, morphology, search

COMMON_PARAMETERS = ("format", "fields")  # every operation takes them (celltypes/api/schema.py documents them)
ID_PATTERN = r"[0-9]{1,18}"  # fits a 64-bit id column; longer ids are 404 rather than a database overflow


def _columns(model: type[Model], *extra: str) -> dict[str, str]:
    """Ordering keys of a model's own columns: {name: column attribute}."""
    names = {field.attname: field.attname for field in model._meta.concrete_fields if not field.is_relation}
    return {**names, **{name: name for name in extra}}


class ReadOnlyApiViewSet(viewsets.ReadOnlyModelViewSet):
    """GET/HEAD/OPTIONS only; anonymous, throttled, JSON or CSV and keyset-paged by the REST_FRAMEWORK settings;
    filtered and ordered from the view's whitelists."""

    filter_backends = [IdFilter, WhitelistOrdering]
    lookup_value_regex = ID_PATTERN
    # Whole answers may be kept by the response cache (celltypes.api.response_cache): they depend on the atlas
    # (versioned) and the request alone.
    response_cacheable = True

    def lean_columns(self) -> tuple[str, ...] | None:
        """The columns a list page reads as named tuples (see serializers.lean_columns); None: model instances."""
        return serializers.lean_columns(self.get_serializer_class())

    id_filters: dict[str, str] = {}
    ordering_fields: dict[str, str] = {"id": "id"}
    default_ordering = "id"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        unknown = sorted(set(request.query_params) - self.known_parameters())
        if unknown:  # a misspelt filter must not answer the whole table as if it had been applied
            known = ", ".join(sorted(self.known_parameters()))
            raise ValidationError(dict.fromkeys(unknown, f"Not a parameter of this endpoint; it takes: {known}."))

    def known_parameters(self) -> set[str]:
        """The query parameters this endpoint documents: its filters, ordering and paging, plus format and fields."""
        names = set(COMMON_PARAMETERS)
        if self.detail:
            return names
        for backend in self.filter_backends:
            names.update(parameter["name"] for parameter in backend().get_schema_operation_parameters(self))
        if self.paginator is not None:
            names.update(parameter["name"] for parameter in self.paginator.get_schema_operation_parameters(self))
        return names


class CellViewSet(ReadOnlyApiViewSet):
    """Cells: rows of Allen's cell table, with the search page's facets and sort keys. `/api/v1/cells/<specimen id>/`
    is the record of the page `/cell/<specimen id>/`."""

    serializer_class = serializers.CellSerializer
    lookup_field = "specimen_id"
    filter_backends = [CellSearchFilter, WhitelistOrdering]
    ordering_fields = {column.key: column.field for column in search.COLUMNS}

    def get_queryset(self) -> QuerySet:
        return search.cell_queryset(filters={})

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        description="For every facet, {value: number of cells} under the free text and the other facets' filters "
        "(the search page's counts).",
    )
    @action(
        detail=False, pagination_class=None, renderer_classes=[FastJSONRenderer], filter_backends=[CellSearchFilter]
    )
    def facets(self, request: Request) -> Response:
        return Response(search.facet_counts(**cell_search_arguments(request.query_params)))


class SweepViewSet(ReadOnlyApiViewSet):
    """Sweep records (stimulus and quality values); `?specimen_id=` gives one cell's."""

    serializer_class = serializers.SweepSerializer
    id_filters = {"specimen_id": "specimen_id"}
    ordering_fields = _columns(EphysSweep, "specimen_id")

    def get_queryset(self) -> QuerySet:
        return ephys.sweeps()


class EphysFeatureViewSet(ReadOnlyApiViewSet):
    """Allen's cell-level ephys features (one record per cell); `?specimen_id=` gives one cell's."""

    serializer_class = serializers.EphysFeatureSerializer
    id_filters = {"specimen_id": "specimen_id"}
    ordering_fields = _columns(EphysFeature, "specimen_id")

    def get_queryset(self) -> QuerySet:
        return ephys.ephys_features()


class MorphologyFeatureViewSet(ReadOnlyApiViewSet):
    """Allen's published morphology features of each cell's current reconstruction (one record per cell)."""

    serializer_class = serializers.MorphologyFeatureSerializer
    id_filters = {"specimen_id": "specimen_id"}
    ordering_fields = _columns(NeuronReconstruction, "specimen_id")

    def get_queryset(self) -> QuerySet:
        return morphology.current_reconstructions()


class ReconstructionViewSet(ReadOnlyApiViewSet):
    """Every reconstruction record, current and older (`superseded`) ones; `?specimen_id=` gives one cell's."""

    serializer_class = serializers.ReconstructionSerializer
    id_filters = {"specimen_id": "specimen_id"}
    ordering_fields = _columns(NeuronReconstruction, "specimen_id")

    def get_queryset(self) -> QuerySet:
        return morphology.reconstructions()


class NeuronalModelViewSet(ReadOnlyApiViewSet):
    """Neuronal models (GLIF and biophysical) held here; `?specimen_id=` gives one cell's."""

    serializer_class = serializers.NeuronalModelSerializer
    id_filters = {"specimen_id": "specimen_id", "neuronal_model_template_id": "neuronal_model_template_id"}
    ordering_fields = {"id": "id", "specimen_id": "specimen_id", "name": "name"}

    def get_queryset(self) -> QuerySet:
        return models.neuronal_models()


class WellKnownFileViewSet(ReadOnlyApiViewSet):
    """Well-known file records with their download link and whether this copy holds the bytes now."""

    serializer_class = serializers.WellKnownFileSerializer
    id_filters = {"attachable_id": "attachable_id"}
    response_cacheable = False  # `held` follows the file store, which the atlas version does not track
    ordering_fields = _columns(WellKnownFile)

    def get_queryset(self) -> QuerySet:
        return files.well_known_files()

    def get_serializer(self, instance: Any = None, *args: Any, **kwargs: Any) -> Any:
        rows = instance if isinstance(instance, list) else [instance]
        held = files.held_file_ids(row.pk for row in rows if row is not None)
        kwargs["context"] = {**kwargs.get("context", self.get_serializer_context()), "held_file_ids": held}
        return self.get_serializer_class()(instance, *args, **kwargs)


@extend_schema(exclude=True)
@api_view(["GET", "HEAD", "OPTIONS"])
def not_found(request: Request, rest: str = "") -> Response:
    """Any other path under /api/v1/: a JSON 404 (lab tools parse it), never the site's HTML page."""
    raise NotFound(f"No such API endpoint: {request.path}. The endpoints are listed at /api/v1/.")
