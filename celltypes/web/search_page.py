"""What the search page shows besides the cells: facet options with counts, filter chips, and the query string
behind every link, so that each control works as a plain link without JavaScript."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from celltypes.atlas.facets import FACETS, Facet
from celltypes.atlas.selectors.search import COLUMNS, CellPage, Column
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


def active_filters(params: SearchParams) -> list[ActiveFilter]:
    """One removable chip per selected value."""
    chips = []
    for facet in FACETS:
        for value in params.filters.get(facet.key, ()):
            remove = params.with_value_toggled(facet.key, value).querystring()
            chips.append(ActiveFilter(facet.label, facet.value_label(value), remove))
    return chips


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
        first=at(page=1),
        previous=at(page=max(1, page.number - 1)),
        next=at(page=min(page.num_pages, page.number + 1)),
        last=at(page=page.num_pages),
        clear_all=at(filters={}, page=1),
        sorts=sorts,
    )
