"""What a search URL asks for, cleaned: the web layer's form of the cell search (filters, text, sort, page, view)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict

from celltypes.atlas.facets import FACETS
from celltypes.atlas.selectors.search import COLUMNS_BY_KEY, DEFAULT_SORT

MAX_VALUES_PER_FACET = 50
MAX_QUERY_LENGTH = 200
CARD_SORTS = ("name", "area", "layer", "rheobase", "tau", "vrest")
VIEWS = ("cards", "table")


@dataclass(frozen=True)
class SearchParams:
    """What a search URL asks for, cleaned: unknown facets and values, bad pages and sorts are dropped."""

    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    q: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = False
    page: int = 1
    view: str = "cards"

    @classmethod
    def from_query(cls, query: QueryDict | Mapping[str, Any]) -> SearchParams:
        if not isinstance(query, QueryDict):
            query = _query_dict(query)
        filters: dict[str, tuple[str, ...]] = {}
        for facet in FACETS:
            values = [_clean(v) for v in query.getlist(facet.key)]
            kept = tuple(dict.fromkeys(v for v in values if facet.accepts(v)))[:MAX_VALUES_PER_FACET]
            if kept:
                filters[facet.key] = kept
        sort = query.get("sort", DEFAULT_SORT)
        return cls(
            filters=filters,
            q=" ".join(_clean(query.get("q", "")).split())[:MAX_QUERY_LENGTH],
            sort=sort if sort in COLUMNS_BY_KEY else DEFAULT_SORT,
            descending=query.get("dir") == "desc",
            page=_positive_int(query.get("page")),
            view=query.get("view") if query.get("view") in VIEWS else "cards",
        )

    @property
    def order(self) -> str:
        """The sort as cell_search takes it: a column key, with a leading '-' for descending."""
        return f"-{self.sort}" if self.descending else self.sort

    @property
    def is_filtered(self) -> bool:
        return bool(self.filters or self.q)

    def pairs(self) -> list[tuple[str, str]]:
        """The query as (key, value) pairs, defaults left out, in a stable order."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        for facet in FACETS:
            pairs.extend((facet.key, value) for value in self.filters.get(facet.key, ()))
        if self.view != "cards":
            pairs.append(("view", self.view))
        if self.sort != DEFAULT_SORT:
            pairs.append(("sort", self.sort))
        if self.descending:
            pairs.append(("dir", "desc"))
        if self.page != 1:
            pairs.append(("page", str(self.page)))
        return pairs

    def querystring(self) -> str:
        return urlencode(self.pairs())

    def with_value_toggled(self, key: str, value: str) -> SearchParams:
        values = self.filters.get(key, ())
        values = tuple(v for v in values if v != value) if value in values else (*values, value)
        filters = {k: v for k, v in {**self.filters, key: values}.items() if v}
        return replace(self, filters=filters, page=1)

    def without_facet(self, key: str) -> SearchParams:
        return replace(self, filters={k: v for k, v in self.filters.items() if k != key}, page=1)

    def sorted_by(self, key: str) -> SearchParams:
        """Sort by `key`; asking again for the current sort flips its direction."""
        descending = not self.descending if key == self.sort else False
        return replace(self, sort=key, descending=descending, page=1)


def _query_dict(mapping: Mapping[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in mapping.items():
        if isinstance(value, list | tuple):
            query.setlist(key, [str(v) for v in value])
        else:
            query[key] = str(value)
    return query


def _clean(text: str) -> str:
    """Without control characters (PostgreSQL refuses NUL in text) and surrounding blanks."""
    return "".join(c for c in text if c >= " " or c == "\t").strip()


def _positive_int(text: str | None) -> int:
    try:
        number = int(text or 1)
    except ValueError:
        return 1
    return number if 1 <= number <= 10**9 else 1
