"""Filter backends of the REST API: the cell search's facets (FACETS, one definition with the search page), plain
equality filters on id columns, and whitelisted ordering. Every bad value is a 400 naming the parameter.

The cell parameters are a list of groups (:data:`CELL_PARAMETERS`), each turning its query parameters into keyword
arguments of ``cell_queryset``/``facet_counts`` and describing them for the OpenAPI schema. Numeric range filters plug
in as one more group (the search page's ``RANGE_FILTERS``, ``<key>_min``/``<key>_max``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from celltypes.atlas.facets import FACETS, RANGE_FILTERS
from celltypes.atlas.selectors.search import cell_queryset

MAX_VALUES_PER_FACET = 50
MAX_TEXT_LENGTH = 200
MAX_ID = 2**63 - 1


class CellParameters(Protocol):
    def parse(self, query: Any) -> Mapping[str, Any]:
        """Keyword arguments of cell_queryset from the query (ValidationError naming a bad parameter)."""

    def parameters(self) -> list[dict[str, Any]]:
        """The OpenAPI query parameters read by `parse`."""


class FacetParameters:
    """The search page's facets (FACETS): ``species=human&layer=5``; several values of one facet are ORed."""

    def parse(self, query: Any) -> Mapping[str, Any]:
        filters: dict[str, tuple[str, ...]] = {}
        for facet in FACETS:
            values = query.getlist(facet.key)
            if not values:
                continue
            if len(values) > MAX_VALUES_PER_FACET:
                raise ValidationError({facet.key: f"At most {MAX_VALUES_PER_FACET} values."})
            for value in values:
                if not (facet.accepts(value) and facet.knows(value)):
                    allowed = ", ".join(choice.value for choice in facet.choices)
                    reason = f"one of {allowed}" if facet.choices else "1 to 200 characters"
                    raise ValidationError({facet.key: f"{value!r} is not a value of this facet: {reason}."})
            filters[facet.key] = tuple(dict.fromkeys(values))
        return {"filters": filters}

    def parameters(self) -> list[dict[str, Any]]:
        return [_facet_parameter(facet) for facet in FACETS]


class TextParameters:
    """Free text (``q=``), as the search page's box."""

    def parse(self, query: Any) -> Mapping[str, Any]:
        q = query.get("q", "")
        if len(q) > MAX_TEXT_LENGTH:
            raise ValidationError({"q": f"At most {MAX_TEXT_LENGTH} characters."})
        return {"q": " ".join(q.split())}

    def parameters(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "q",
                "in": "query",
                "required": False,
                "description": "Free text: every word must match the specimen name or id, the line, or the area.",
                "schema": {"type": "string", "maxLength": MAX_TEXT_LENGTH},
            }
        ]


class RangeParameters:
    """Numeric ranges: ``<key>_min`` and ``<key>_max`` for each range filter (anything with `key` and `label`);
    either bound may be left out. Passed on as ``ranges={key: (low, high)}``."""

    def __init__(self, range_filters: Iterable[Any]) -> None:
        self.range_filters = tuple(range_filters)

    def parse(self, query: Any) -> Mapping[str, Any]:
        ranges: dict[str, tuple[float | None, float | None]] = {}
        for range_filter in self.range_filters:
            low, high = (_bound(query, f"{range_filter.key}_{end}") for end in ("min", "max"))
            if low is not None and high is not None and low > high:
                raise ValidationError({f"{range_filter.key}_min": "The minimum is above the maximum."})
            if (low, high) != (None, None):
                ranges[range_filter.key] = (low, high)
        return {"ranges": ranges} if ranges else {}

    def parameters(self) -> list[dict[str, Any]]:
        return [
            {
                "name": f"{range_filter.key}_{end}",
                "in": "query",
                "required": False,
                "description": f"{range_filter.label}: the {'lowest' if end == 'min' else 'highest'} value kept.",
                "schema": {"type": "number"},
            }
            for range_filter in self.range_filters
            for end in ("min", "max")
        ]


def _bound(query: Any, name: str) -> float | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValidationError({name: "A finite number."})
    return value


CELL_PARAMETERS: list[CellParameters] = [FacetParameters(), TextParameters(), RangeParameters(RANGE_FILTERS)]


def cell_search_arguments(query: Any) -> dict[str, Any]:
    """The cell_queryset keyword arguments a query asks for (ValidationError on any bad value)."""
    arguments: dict[str, Any] = {}
    for group in CELL_PARAMETERS:
        arguments.update(group.parse(query))
    return arguments


def _facet_parameter(facet: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 200}
    if facet.choices:
        item = {"type": "string", "enum": [choice.value for choice in facet.choices]}
    return {
        "name": facet.key,
        "in": "query",
        "required": False,
        "description": f"{facet.label}: any of these values (repeat the parameter); facets are combined with AND.",
        "schema": {"type": "array", "items": item, "maxItems": MAX_VALUES_PER_FACET},
        "style": "form",
        "explode": True,
    }


class CellSearchFilter(BaseFilterBackend):
    """The search page's filters: every group of CELL_PARAMETERS (facets, free text, and ranges once plugged in)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        return cell_queryset(**cell_search_arguments(request.query_params))

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [parameter for group in CELL_PARAMETERS for parameter in group.parameters()]


class IdFilter(BaseFilterBackend):
    """Equality on id columns named by the view's ``id_filters`` ({parameter: field})."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        for parameter, field in getattr(view, "id_filters", {}).items():
            raw = request.query_params.get(parameter)
            if raw is None:
                continue
            if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
                raise ValidationError({parameter: "A positive whole number."})
            queryset = queryset.filter(**{field: int(raw)})
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": parameter,
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            }
            for parameter in getattr(view, "id_filters", {})
        ]


class WhitelistOrdering(BaseFilterBackend):
    """``?ordering=<key>`` or ``-<key>`` from the view's ``ordering_fields`` ({key: field}); sets
    ``view.ordering_key`` for the keyset pagination, which does the ordering itself."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        raw = request.query_params.get("ordering")
        fields: Mapping[str, str] = view.ordering_fields
        if raw is None:
            key = view.default_ordering
        else:
            if raw.removeprefix("-") not in fields:
                raise ValidationError({"ordering": f"One of {', '.join(fields)}, with a leading '-' for descending."})
            key = raw
        field = fields[key.removeprefix("-")]
        view.ordering_key = f"-{field}" if key.startswith("-") else field
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        keys = list(view.ordering_fields)
        return [
            {
                "name": "ordering",
                "in": "query",
                "required": False,
                "description": f"Sort key (nulls last), '-' for descending; default {view.default_ordering}.",
                "schema": {"type": "string", "enum": keys + [f"-{key}" for key in keys]},
            }
        ]
