"""Keyset (cursor) pagination: each page continues after the last row of the one before, so rows written or
deleted meanwhile never shift a page, repeat a row or skip one (an offset would).

The position is the last row's value of the ordering field and its primary key (the tie-breaker); nulls sort last
in both directions, as on the search page. The cursor is that position, base64-encoded JSON, tied to its ordering.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from celltypes.science.values import finite_or_none

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_CURSOR_LENGTH = 1000


def _encode(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode("ascii")


def _decode(cursor: str) -> dict[str, Any]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationError({"cursor": "Invalid cursor: too long."})
    try:
        position = orjson.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (UnicodeEncodeError, binascii.Error, ValueError, orjson.JSONDecodeError):
        raise ValidationError({"cursor": "Invalid cursor: use the `next` link of the previous page."}) from None
    if not isinstance(position, dict) or set(position) != {"o", "v", "pk"}:
        raise ValidationError({"cursor": "Invalid cursor: use the `next` link of the previous page."})
    return position


def page_size_from(request: Request) -> int:
    raw = request.query_params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationError({"page_size": f"A whole number from 1 to {MAX_PAGE_SIZE}."})
    return int(raw)


class KeysetPagination(BasePagination):
    """`?page_size=` (1-1000, default 50) and `?cursor=` from the previous page's `next` link."""

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        ordering = getattr(view, "ordering_key", None) or "pk"  # set by the ordering filter
        field, descending = ordering.removeprefix("-"), ordering.startswith("-")
        model = queryset.model
        pk_name = model._meta.pk.name
        field_name = pk_name if field == "pk" else field
        self.request = request
        self.page_size = page_size_from(request)
        self.count = queryset.count()
        cursor = request.query_params.get("cursor")
        if cursor is not None:
            position = _decode(cursor)
            if position["o"] != ordering:
                raise ValidationError({"cursor": "This cursor belongs to another ordering."})
            queryset = queryset.filter(self._after(model, field_name, descending, position["v"], position["pk"]))
        expression = F(field_name)
        order = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
        queryset = queryset.order_by(order, pk_name)
        # A view whose serializer reads only the row's own columns gets named tuples of them (no model instances).
        columns = view.lean_columns() if view is not None and hasattr(view, "lean_columns") else None
        pk_column = model._meta.pk.attname
        if columns is not None:
            queryset = queryset.values_list(*dict.fromkeys((*columns, field_name, pk_column)), named=True)
        rows = list(queryset[: self.page_size + 1])
        self.next_position = None
        if len(rows) > self.page_size:
            rows = rows[: self.page_size]
            last = rows[-1]
            value = finite_or_none(getattr(last, field_name))
            self.next_position = {"o": ordering, "v": value, "pk": getattr(last, pk_column)}
        return rows

    @staticmethod
    def _after(model: Any, field_name: str, descending: bool, value: Any, pk: Any) -> Q:
        """Rows after (value, pk) in the order (field asc|desc nulls last, pk asc)."""
        pk_field = model._meta.pk
        try:
            pk = pk_field.to_python(pk)
            value = None if value is None else model._meta.get_field(field_name).to_python(value)
        except (DjangoValidationError, TypeError, ValueError):
            raise ValidationError({"cursor": "Invalid cursor: use the `next` link of the previous page."}) from None
        if pk is None:
            raise ValidationError({"cursor": "Invalid cursor: use the `next` link of the previous page."})
        if value is None:
            return Q(**{f"{field_name}__isnull": True, "pk__gt": pk})
        beyond = Q(**{f"{field_name}__lt" if descending else f"{field_name}__gt": value})
        return beyond | Q(**{field_name: value, "pk__gt": pk}) | Q(**{f"{field_name}__isnull": True})

    def next_link(self) -> str | None:
        if self.next_position is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, "cursor", _encode(self.next_position))

    def get_paginated_response(self, data: list[dict[str, Any]]) -> Response:
        next_link = self.next_link()
        headers = {"Link": f'<{next_link}>; rel="next"'} if next_link else {}
        return Response({"count": self.count, "next": next_link, "results": data}, headers=headers)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["count", "next", "results"],
            "properties": {
                "count": {"type": "integer", "description": "Rows matching the filters (all pages)."},
                "next": {"type": "string", "nullable": True, "description": "The next page; null on the last."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Where the page starts: copy it from the previous page's `next` link.",
                "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Rows per page (default {DEFAULT_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
