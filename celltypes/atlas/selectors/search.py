"""Cell search over Allen's flat cell table: filtered, sorted, paged cells, facet counts and download rows.

Facet counts follow the usual faceted-search rule: the counts shown for facet F are computed with every active
filter except F's own, so picking a second value of F shows how many cells it would add. They take a constant
number of queries: one conditional aggregate for all facets with fixed choices, one GROUP BY per data-driven facet.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import and_
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from celltypes.atlas.facets import FACETS, FACETS_BY_KEY, Facet
from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.atlas.vocabulary import EPHYS_FEATURE_LABELS
from celltypes.science.values import finite_or_none

PER_PAGE = 50

Filters = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Column:
    """A sortable column of the results table (and a sort key for the cards)."""

    key: str
    label: str
    field: str
    unit: str = ""
    digits: int | None = None


def _ephys(key: str, feature: str, digits: int) -> Column:
    """A column of one of Allen's ephys features (``ef__<feature>`` in the cell table), labelled as everywhere."""
    label = EPHYS_FEATURE_LABELS[feature]
    return Column(key, label.heading, f"ef_{feature}", label.unit, digits)


COLUMNS: tuple[Column, ...] = (
    Column("name", "Specimen", "specimen_name"),
    Column("species", "Species", "donor_species"),
    Column("area", "Area", "structure_parent_acronym"),
    Column("layer", "Layer", "structure_layer"),
    Column("dendrite", "Dendrite type", "tag_dendrite_type"),
    Column("line", "Line", "line_name"),
    _ephys("rheobase", "threshold_i_long_square", 0),
    _ephys("tau", "tau", 1),
    _ephys("vrest", "vrest", 1),
    _ephys("updown", "upstroke_downstroke_ratio_long_square", 2),
    _ephys("fi_slope", "f_i_curve_slope", 3),
    _ephys("adaptation", "adaptation", 3),
    _ephys("avg_isi", "avg_isi", 1),
    _ephys("ri", "ri", 0),
    Column("id", "Specimen id", "specimen_id"),
)
COLUMNS_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}
DEFAULT_SORT = "name"

# Allen's 54 columns, in Allen's order: (Django field name, Allen column name).
ALLEN_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (f.name, f.column) for f in ApiCellTypesSpecimenDetail._meta.concrete_fields
)


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
        yield tuple(finite_or_none(v) for v in row)
