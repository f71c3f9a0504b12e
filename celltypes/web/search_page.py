"""What the search page shows besides the cells: facet options with counts, filter chips, and the query string
behind every link, so that each control works as a plain link without JavaScript."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from celltypes.atlas.facets import FACETS, RANGE_FILTERS, RANGE_FILTERS_BY_KEY, Facet, RangeFilter
from celltypes.atlas.selectors.search import COLUMNS, CellPage, Column, Histogram
from celltypes.web.search_params import CARD_SORTS, SearchParams


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool
    query: str  # the query string with this value toggled


@dataclass(frozen=True)
class FacetGroup:
    facet: Facet
    options: list[FacetOption]
    clear_query: str | None  # the query string without this facet, when it is active

    @property
    def key(self) -> str:
        return self.facet.key

    @property
    def label(self) -> str:
        return self.facet.label


def facet_groups(params: SearchParams, counts: Mapping[str, Mapping[str, int]]) -> list[FacetGroup]:
    """Facets with their options, counts, and the link that toggles each option."""
    groups = []
    for facet in FACETS:
        selected = params.filters.get(facet.key, ())
        facet_counts_ = counts.get(facet.key, {})
        if facet.is_dynamic:
            values = list(facet_counts_)
            values += [v for v in selected if v not in facet_counts_]
            if facet.order_by_value:
                values.sort()
            else:
                values.sort(key=lambda v: (-facet_counts_.get(v, 0), facet.value_label(v).lower()))
        else:
            values = [choice.value for choice in facet.choices]
        options = [
            FacetOption(
                value=value,
                label=facet.value_label(value),
                count=facet_counts_.get(value, 0),
                selected=value in selected,
                query=params.with_value_toggled(facet.key, value).querystring(),
            )
            for value in values
        ]
        clear = params.without_facet(facet.key).querystring() if selected else None
        groups.append(FacetGroup(facet=facet, options=options, clear_query=clear))
    return groups


@dataclass(frozen=True)
class ActiveFilter:
    facet_label: str
    label: str
    remove_query: str
    # Why this value selects nothing, when it cannot: "" for an ordinary filter.
    warning: str = ""


def active_filters(params: SearchParams, counts: Mapping[str, Mapping[str, int]]) -> list[ActiveFilter]:
    """One removable chip per selected value; a value that cannot select a cell is flagged, never dropped."""
    chips = []
    for facet in FACETS:
        for value in params.filters.get(facet.key, ()):
            remove = params.with_value_toggled(facet.key, value).querystring()
            if not facet.knows(value):
                known = ", ".join(choice.value for choice in facet.choices)
                warning = f"not a known value (one of: {known})"
            elif not counts.get(facet.key, {}).get(value):
                warning = "matches no cell"
            else:
                warning = ""
            chips.append(ActiveFilter(facet.label, facet.value_label(value), remove, warning))
    return chips


def _bound_text(range_filter: RangeFilter, value: float | None) -> str:
    return "" if value is None else f"{value:.{range_filter.digits}f}"


def range_text(range_filter: RangeFilter, low: float | None, high: float | None) -> str:
    """ "100–300 MΩ", "≥ 100 MΩ", "≤ 300 MΩ" for a chip."""
    unit = f" {range_filter.unit}" if range_filter.unit else ""
    if low is not None and high is not None:
        return f"{_bound_text(range_filter, low)}–{_bound_text(range_filter, high)}{unit}"
    if low is not None:
        return f"≥ {_bound_text(range_filter, low)}{unit}"
    return f"≤ {_bound_text(range_filter, high)}{unit}"


def range_chips(params: SearchParams) -> list[ActiveFilter]:
    """One chip per bounded range; removing it keeps the feature's histogram, without bounds."""
    return [
        ActiveFilter(
            RANGE_FILTERS_BY_KEY[key].short,
            range_text(RANGE_FILTERS_BY_KEY[key], low, high),
            params.with_range(key, (None, None)).querystring(),
        )
        for key, (low, high) in params.bounded_ranges.items()
    ]


@dataclass(frozen=True)
class RangePanel:
    """A chosen numeric feature: its histogram (drawn by static/js/search_ranges.js), bounds and links."""

    range_filter: RangeFilter
    low: float | None
    high: float | None
    histogram: Histogram
    remove_query: str  # the query string without this feature
    form_pairs: list[tuple[str, str]]  # the rest of the query, as hidden fields of the plain-HTML bounds form

    @property
    def key(self) -> str:
        return self.range_filter.key

    @property
    def low_text(self) -> str:
        return _bound_text(self.range_filter, self.low)

    @property
    def high_text(self) -> str:
        return _bound_text(self.range_filter, self.high)

    @property
    def counts_text(self) -> str:
        return ",".join(str(n) for n in self.histogram.counts)

    @property
    def step(self) -> str:
        digits = self.range_filter.digits
        return "1" if digits == 0 else f"{10**-digits:.{digits}f}"


def range_panels(params: SearchParams, found: Mapping[str, Histogram]) -> list[RangePanel]:
    panels = []
    for key, (low, high) in params.ranges.items():
        if key not in found:
            continue
        rest = params.without_range(key)
        panels.append(
            RangePanel(
                range_filter=RANGE_FILTERS_BY_KEY[key],
                low=low,
                high=high,
                histogram=found[key],
                remove_query=rest.querystring(),
                form_pairs=[(k, v) for k, v in rest.pairs() if k != "page"],
            )
        )
    return panels


@dataclass(frozen=True)
class RangeChoice:
    range_filter: RangeFilter
    add_query: str


def range_choices(params: SearchParams) -> list[RangeChoice]:
    """The features not chosen yet, each with the link that adds its histogram."""
    return [
        RangeChoice(r, params.with_range(r.key, (None, None)).querystring())
        for r in RANGE_FILTERS
        if r.key not in params.ranges
    ]


@dataclass(frozen=True)
class AxisChoice:
    range_filter: RangeFilter
    shown: bool
    toggle_query: str


def axis_choices(params: SearchParams) -> list[AxisChoice]:
    """Every range feature as a parallel-coordinates axis the user can show or hide."""
    return [AxisChoice(r, r.key in params.axes, params.with_axis_toggled(r.key).querystring()) for r in RANGE_FILTERS]


@dataclass(frozen=True)
class SortLink:
    column: Column
    query: str
    state: str  # "asc", "desc" or "" when the results are not sorted by this column


@dataclass(frozen=True)
class SearchLinks:
    """Query strings for the page's controls, so that each works as a plain link."""

    cards: str
    table: str
    parcoords: str
    first: str
    previous: str
    next: str
    last: str
    clear_all: str
    sorts: list[SortLink]

    @property
    def card_sorts(self) -> list[SortLink]:
        return [link for link in self.sorts if link.column.key in CARD_SORTS]


def search_links(params: SearchParams, page: CellPage) -> SearchLinks:
    def at(**changes: Any) -> str:
        return replace(params, **changes).querystring()

    sorts = [
        SortLink(
            column=column,
            query=params.sorted_by(column.key).querystring(),
            state=("desc" if params.descending else "asc") if column.key == params.sort else "",
        )
        for column in COLUMNS
    ]
    return SearchLinks(
        cards=at(view="cards", page=1),
        table=at(view="table", page=1),
        parcoords=at(view="parcoords", page=1),
        first=at(page=1),
        previous=at(page=max(1, page.number - 1)),
        next=at(page=min(page.num_pages, page.number + 1)),
        last=at(page=page.num_pages),
        clear_all=at(filters={}, ranges={}, page=1),
        sorts=sorts,
    )
