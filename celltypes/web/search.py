"""Cell search over Allen's flat cell table: filters, free text, sorting, paging, facet counts and downloads.

Facet counts follow the usual faceted-search rule: the counts shown for facet F are computed with every active
filter except F's own, so picking a second value of F shows how many cells it would add. They take a constant
number of queries: one conditional aggregate for all facets with fixed choices, one GROUP BY per data-driven facet.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import reduce
from operator import and_
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import QueryDict

from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.web.facets import FACETS, FACETS_BY_KEY, Facet

PER_PAGE = 50
MAX_VALUES_PER_FACET = 50
MAX_QUERY_LENGTH = 200

Filters = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Column:
    """A sortable column of the results table (and a sort key for the cards)."""

    key: str
    label: str
    field: str
    unit: str = ""
    digits: int | None = None


COLUMNS: tuple[Column, ...] = (
    Column("name", "Specimen", "specimen_name"),
    Column("species", "Species", "donor_species"),
    Column("area", "Area", "structure_parent_acronym"),
    Column("layer", "Layer", "structure_layer"),
    Column("dendrite", "Dendrite type", "tag_dendrite_type"),
    Column("line", "Line", "line_name"),
    Column("rheobase", "Rheobase", "ef_threshold_i_long_square", "pA", 0),
    Column("tau", "Tau", "ef_tau", "ms", 1),
    Column("vrest", "Resting Vm", "ef_vrest", "mV", 1),
    Column("updown", "Up:down ratio", "ef_upstroke_downstroke_ratio_long_square", "", 2),
    Column("fi_slope", "f-I slope", "ef_f_i_curve_slope", "Hz/pA", 3),
    Column("adaptation", "Adaptation", "ef_adaptation", "", 3),
    Column("avg_isi", "Avg ISI", "ef_avg_isi", "ms", 1),
    Column("ri", "Ri", "ef_ri", "MΩ", 0),
    Column("id", "Specimen id", "specimen_id"),
)
COLUMNS_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}
DEFAULT_SORT = "name"
CARD_SORTS = ("name", "area", "layer", "rheobase", "tau", "vrest")
VIEWS = ("cards", "table")

# Allen's 54 columns, in Allen's order: (Django field name, Allen column name).
ALLEN_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (f.name, f.column) for f in ApiCellTypesSpecimenDetail._meta.concrete_fields
)


# --- parameters -----------------------------------------------------------------------------------------------


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


# --- queries --------------------------------------------------------------------------------------------------


def text_q(q: str) -> Q:
    """Every word must match the specimen name or id, the line, or the area (acronym or name)."""
    condition = Q()
    for word in q.split():
        word_q = (
            Q(specimen_name__icontains=word)
            | Q(line_name__icontains=word)
            | Q(structure_parent_acronym__iexact=word)
            | Q(structure_acronym__iexact=word)
            | Q(structure_name__icontains=word)
        )
        if word.isascii() and word.isdigit() and len(word) <= 18:
            word_q |= Q(specimen_id=int(word))
        condition &= word_q
    return condition


def _facet_conditions(filters: Filters) -> dict[str, Q]:
    conditions = {}
    for key, values in filters.items():
        facet = FACETS_BY_KEY.get(key)
        if facet is not None and values:
            conditions[key] = facet.q(tuple(values))
    return conditions


def _all_but(conditions: Mapping[str, Q], key: str | None) -> Q:
    return reduce(and_, (c for k, c in conditions.items() if k != key), Q())


def cell_queryset(*, filters: Filters, q: str = "") -> QuerySet[ApiCellTypesSpecimenDetail]:
    """The cells matching every filter and the free text."""
    conditions = _facet_conditions(filters)
    return ApiCellTypesSpecimenDetail.objects.filter(text_q(q), _all_but(conditions, None))


@dataclass(frozen=True)
class CellPage:
    cells: list[ApiCellTypesSpecimenDetail]
    total: int
    number: int
    per_page: int

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def end_index(self) -> int:
        return min(self.number * self.per_page, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages


def cell_search(
    *, filters: Filters, q: str = "", sort: str = DEFAULT_SORT, page: int = 1, per_page: int = PER_PAGE
) -> CellPage:
    """One page of matching cells (two queries: a count and the page). A page past the end shows the last."""
    cells = cell_queryset(filters=filters, q=q)
    total = cells.count()
    number = min(max(page, 1), max(1, math.ceil(total / per_page)))
    column = COLUMNS_BY_KEY.get(sort.removeprefix("-"), COLUMNS_BY_KEY[DEFAULT_SORT])
    expression = F(column.field)
    ordering = expression.desc(nulls_last=True) if sort.startswith("-") else expression.asc(nulls_last=True)
    start = (number - 1) * per_page
    rows = list(cells.order_by(ordering, "specimen_id")[start : start + per_page])
    return CellPage(cells=rows, total=total, number=number, per_page=per_page)


def facet_counts(*, filters: Filters, q: str = "") -> dict[str, dict[str, int]]:
    """For every facet, {value: number of cells} under the free text and the OTHER facets' filters.

    Fixed-choice facets come from one query of conditional aggregates; each data-driven facet from one GROUP BY.
    Values of data-driven facets that match no cell are left out; fixed choices are always listed.
    All of it reads only columns of the `cell_search_facets` index unless there is free text.
    """
    conditions = _facet_conditions(filters)
    base = ApiCellTypesSpecimenDetail.objects.filter(text_q(q)).order_by()
    aggregates: dict[str, Count] = {}
    for index, facet in enumerate(FACETS):
        others = _all_but(conditions, facet.key)
        for number, choice in enumerate(facet.choices):
            aggregates[f"f{index}_{number}"] = Count(Value(1), filter=choice.q & others)
    row = base.aggregate(**aggregates) if aggregates else {}
    counts: dict[str, dict[str, int]] = {}
    for index, facet in enumerate(FACETS):
        if facet.is_dynamic:
            others = _all_but(conditions, facet.key)
            counts[facet.key] = _group_counts(base.filter(others), facet, filtered=bool(q or others))
        else:
            counts[facet.key] = {c.value: row[f"f{index}_{n}"] for n, c in enumerate(facet.choices)}
    return counts


def _group_counts(cells: QuerySet[ApiCellTypesSpecimenDetail], facet: Facet, *, filtered: bool) -> dict[str, int]:
    # Grouping on the bare column lets SQLite walk that column's own index to skip the sort, testing the filters
    # row by row in the table (slow at 100k cells). When there are filters, group on an expression instead, so
    # that the planner seeks through the covering facet index and sorts the few matching rows.
    key = Coalesce(facet.field, Value("")) if filtered else F(facet.field)
    grouped = cells.values(value=key).annotate(n=Count("*")).values_list("value", "n").order_by()
    return {value: n for value, n in grouped if value not in (None, "")}


# --- downloads ------------------------------------------------------------------------------------------------


def cell_rows(*, filters: Filters, q: str = "") -> Iterator[tuple[Any, ...]]:
    """The matching cells as tuples of Allen's 54 columns (see ALLEN_FIELDS), by specimen id; NaN becomes None."""
    names = [name for name, _ in ALLEN_FIELDS]
    cells = cell_queryset(filters=filters, q=q).order_by("specimen_id").values_list(*names)
    for row in cells.iterator(chunk_size=2000):
        yield tuple(None if isinstance(v, float) and not math.isfinite(v) else v for v in row)
