"""What a search URL asks for, cleaned: the web layer's form of the cell search (filters, ranges, text, sort, page,
view).

Numeric ranges travel as ``range=<key>:<low>:<high>`` (keys: celltypes.atlas.facets.RANGE_FILTERS), one parameter
per feature, either bound may be empty: ``range=ri:100:300``, ``range=tau::20``. ``range=ri`` shows the feature's
histogram without filtering. Plain HTML forms may send ``<key>_min`` / ``<key>_max`` instead; links always use the
``range=`` form. Bounds that are not finite numbers are dropped; low and high are swapped when reversed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from django.http import QueryDict

from celltypes.atlas.facets import FACETS, RANGE_FILTERS, RANGE_FILTERS_BY_KEY
from celltypes.atlas.selectors.search import COLUMNS_BY_KEY, DEFAULT_SORT

MAX_VALUES_PER_FACET = 50
MAX_QUERY_LENGTH = 200
CARD_SORTS = ("name", "area", "layer", "rheobase", "tau", "vrest")
VIEWS = ("cards", "table", "parcoords")
DEFAULT_AXES: tuple[str, ...] = tuple(r.key for r in RANGE_FILTERS if r.allen_axis)
MAX_RANGES = len(RANGE_FILTERS)

Bounds = tuple[float | None, float | None]


@dataclass(frozen=True)
class SearchParams:
    """What a search URL asks for, cleaned: unknown facets, bad pages and sorts are dropped. Unknown VALUES of a
    known facet (``species=mice``) are kept: they match no cell and the page shows them as a warning, so a typo
    never silently widens the search (or a download) to every cell."""

    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Range filter key -> (low, high), in the order the user chose them; (None, None) shows only the histogram.
    ranges: dict[str, Bounds] = field(default_factory=dict)
    # The parallel-coordinates axes, in order (``axes=ri,tau,...``; Allen's axes by default).
    axes: tuple[str, ...] = DEFAULT_AXES
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
            ranges=_ranges(query),
            axes=_axes(query.get("axes")),
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
    def unknown_values(self) -> list[tuple[str, str]]:
        """(facet key, value) of every value that is not one of its facet's fixed choices."""
        return [
            (facet.key, value)
            for facet in FACETS
            for value in self.filters.get(facet.key, ())
            if not facet.knows(value)
        ]

    @property
    def is_filtered(self) -> bool:
        return bool(self.filters or self.q or self.bounded_ranges)

    @property
    def range_words(self) -> list[str]:
        """The ranges as the values of ``range=`` parameters."""
        return [range_word(key, bounds) for key, bounds in self.ranges.items()]

    @property
    def bounded_ranges(self) -> dict[str, Bounds]:
        """The ranges that filter (at least one bound set)."""
        return {k: b for k, b in self.ranges.items() if b != (None, None)}

    def pairs(self) -> list[tuple[str, str]]:
        """The query as (key, value) pairs, defaults left out, in a stable order."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        for facet in FACETS:
            pairs.extend((facet.key, value) for value in self.filters.get(facet.key, ()))
        pairs.extend(("range", word) for word in self.range_words)
        if self.view != "cards":
            pairs.append(("view", self.view))
        if self.axes != DEFAULT_AXES:
            pairs.append(("axes", ",".join(self.axes)))
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

    def with_range(self, key: str, bounds: Bounds) -> SearchParams:
        return replace(self, ranges={**self.ranges, key: bounds}, page=1)

    def without_range(self, key: str) -> SearchParams:
        return replace(self, ranges={k: b for k, b in self.ranges.items() if k != key}, page=1)

    def with_axis_toggled(self, key: str) -> SearchParams:
        axes = tuple(k for k in self.axes if k != key) if key in self.axes else (*self.axes, key)
        return replace(self, axes=axes)

    def without_facet(self, key: str) -> SearchParams:
        return replace(self, filters={k: v for k, v in self.filters.items() if k != key}, page=1)

    def sorted_by(self, key: str) -> SearchParams:
        """Sort by `key`; asking again for the current sort flips its direction."""
        descending = not self.descending if key == self.sort else False
        return replace(self, sort=key, descending=descending, page=1)


def range_word(key: str, bounds: Bounds) -> str:
    """``ri:100:300`` (``ri`` when both bounds are open)."""
    low, high = bounds
    if low is None and high is None:
        return key
    return f"{key}:{_number(low)}:{_number(high)}"


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _bound(text: str | None) -> float | None:
    try:
        value = float((text or "").strip()[:40])
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _ranges(query: QueryDict) -> dict[str, Bounds]:
    ranges: dict[str, Bounds] = {}
    words = [*query.getlist("range")]
    for range_filter in RANGE_FILTERS:  # the form of plain HTML forms: <key>_min, <key>_max
        low, high = query.get(f"{range_filter.key}_min"), query.get(f"{range_filter.key}_max")
        if low is not None or high is not None:
            words.append(f"{range_filter.key}:{low or ''}:{high or ''}")
    for word in words[: MAX_RANGES * 2]:
        key, _, rest = _clean(word).partition(":")
        if key not in RANGE_FILTERS_BY_KEY:
            continue
        low_text, _, high_text = rest.partition(":")
        low, high = _bound(low_text), _bound(high_text)
        if low is not None and high is not None and low > high:
            low, high = high, low
        ranges[key] = (low, high)
    return ranges


def _axes(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_AXES
    return tuple(dict.fromkeys(k for k in _clean(text)[:1000].split(",") if k in RANGE_FILTERS_BY_KEY))


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
