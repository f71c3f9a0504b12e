"""Cell search over Allen's flat cell table: filtered, sorted, paged cells, facet counts, histograms of the
numeric range filters, and download rows.

Facet counts follow the usual faceted-search rule: the counts shown for facet F are computed with every active
filter except F's own, so picking a second value of F shows how many cells it would add. They take a constant
number of queries: one conditional aggregate for all facets with fixed choices, one GROUP BY per data-driven facet.
Range filters count as filters for the facets; the histogram of a range feature follows every filter but its own
range (the atlas version for the cached extents, then one GROUP BY per feature; see `histograms`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import and_
from typing import Any

from django.db.models import Count, F, IntegerField, Max, Min, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Floor

from celltypes.atlas.facets import FACETS, FACETS_BY_KEY, RANGE_FILTERS, RANGE_FILTERS_BY_KEY, Facet, RangeFilter
from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.atlas.services.versions import atlas_version_get
from celltypes.atlas.vocabulary import EPHYS_FEATURE_LABELS
from celltypes.science.values import finite_or_none

PER_PAGE = 50

Filters = Mapping[str, Sequence[str]]
# Range filter key -> (low, high); None is an open bound.
Ranges = Mapping[str, tuple[float | None, float | None]]
HISTOGRAM_BINS = 30


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


def _range_key(key: str) -> str:
    return f"range:{key}"


def _facet_conditions(filters: Filters, ranges: Ranges | None = None) -> dict[str, Q]:
    """One condition per active facet (by facet key) and per bounded range (by ``range:<key>``)."""
    conditions = {}
    for key, values in filters.items():
        facet = FACETS_BY_KEY.get(key)
        if facet is not None and values:
            conditions[key] = facet.q(tuple(values))
    for key, (low, high) in (ranges or {}).items():
        range_filter = RANGE_FILTERS_BY_KEY.get(key)
        if range_filter is not None and (low is not None or high is not None):
            conditions[_range_key(key)] = range_filter.q(low, high)
    return conditions


def _all_but(conditions: Mapping[str, Q], key: str | None) -> Q:
    return reduce(and_, (c for k, c in conditions.items() if k != key), Q())


def cell_queryset(
    *, filters: Filters, q: str = "", ranges: Ranges | None = None
) -> QuerySet[ApiCellTypesSpecimenDetail]:
    """The cells matching every filter, every range and the free text."""
    conditions = _facet_conditions(filters, ranges)
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
    *,
    filters: Filters,
    q: str = "",
    ranges: Ranges | None = None,
    sort: str = DEFAULT_SORT,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> CellPage:
    """One page of matching cells (two queries: a count and the page). A page past the end shows the last."""
    cells = cell_queryset(filters=filters, q=q, ranges=ranges)
    total = cells.count()
    number = min(max(page, 1), max(1, math.ceil(total / per_page)))
    start = (number - 1) * per_page
    rows = list(_sorted(cells, sort)[start : start + per_page])
    return CellPage(cells=rows, total=total, number=number, per_page=per_page)


def _sorted(cells: QuerySet[ApiCellTypesSpecimenDetail], sort: str) -> QuerySet[ApiCellTypesSpecimenDetail]:
    """Ordered by a column key (leading '-' for descending), blanks last, then by specimen id; unknown keys sort
    by the default column."""
    column = COLUMNS_BY_KEY.get(sort.removeprefix("-"), COLUMNS_BY_KEY[DEFAULT_SORT])
    expression = F(column.field)
    ordering = expression.desc(nulls_last=True) if sort.startswith("-") else expression.asc(nulls_last=True)
    return cells.order_by(ordering, "specimen_id")


def facet_counts(*, filters: Filters, q: str = "", ranges: Ranges | None = None) -> dict[str, dict[str, int]]:
    """For every facet, {value: number of cells} under the free text, the ranges and the OTHER facets' filters.

    Fixed-choice facets come from one query of conditional aggregates; each data-driven facet from one GROUP BY.
    Values of data-driven facets that match no cell are left out; fixed choices are always listed.
    All of it reads only columns of the `cell_search_facets` index unless there is free text.
    """
    conditions = _facet_conditions(filters, ranges)
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


# --- histograms of the range features -------------------------------------------------------------------------


@dataclass(frozen=True)
class Histogram:
    """Counts of the filtered cells in HISTOGRAM_BINS equal bins over the feature's extent in the whole table (so
    the axis stays put while filters change). `counts` is empty when no cell has a value."""

    range_filter: RangeFilter
    low: float | None
    high: float | None
    counts: list[int]

    @property
    def width(self) -> float:
        if self.low is None or self.high is None:
            return 0.0
        return (self.high - self.low) / HISTOGRAM_BINS

    @property
    def total(self) -> int:
        return sum(self.counts)


def histograms(
    *, keys: Sequence[str], filters: Filters, q: str = "", ranges: Ranges | None = None
) -> dict[str, Histogram]:
    """A histogram per range feature in `keys`, of the cells under every filter except that feature's own range.

    The extents come from `feature_extents` (one query), then one GROUP BY of a bin number per feature."""
    chosen = [RANGE_FILTERS_BY_KEY[key] for key in dict.fromkeys(keys) if key in RANGE_FILTERS_BY_KEY]
    if not chosen:
        return {}
    cells = ApiCellTypesSpecimenDetail.objects.order_by()
    extents = feature_extents()
    conditions = _facet_conditions(filters, ranges)
    found: dict[str, Histogram] = {}
    for range_filter in chosen:
        low, high = extents[range_filter.key]
        if low is None or high is None:
            found[range_filter.key] = Histogram(range_filter, None, None, [])
            continue
        span = (high - low) or 1.0
        field = F(range_filter.field)
        # The bin number (the maximum joins the last bin, below). Floor, then an integer: a cast alone rounds on
        # PostgreSQL and truncates on SQLite.
        bin_number = Cast(Floor((field - Value(low)) * Value(HISTOGRAM_BINS / span)), IntegerField())
        others = _all_but(conditions, _range_key(range_filter.key))
        grouped = (
            cells.filter(text_q(q), others, **{f"{range_filter.field}__isnull": False})
            .annotate(bin=bin_number)
            .values("bin")
            .annotate(n=Count("*"))
            .values_list("bin", "n")
        )
        counts = [0] * HISTOGRAM_BINS
        for bin_, n in grouped:
            counts[min(max(int(bin_), 0), HISTOGRAM_BINS - 1)] += n
        found[range_filter.key] = Histogram(range_filter, float(low), float(high), counts)
    return found


_extents_cache: dict[int, dict[str, tuple[float | None, float | None]]] = {}


def feature_extents() -> dict[str, tuple[float | None, float | None]]:
    """(min, max) of every range feature over the whole cell table: one query for the atlas version, and one scan
    of the table when the atlas changed (kept per process, keyed on the version that every write bumps)."""
    version = atlas_version_get()
    if version not in _extents_cache:
        row = ApiCellTypesSpecimenDetail.objects.order_by().aggregate(
            **{f"lo_{r.key}": Min(r.field) for r in RANGE_FILTERS},
            **{f"hi_{r.key}": Max(r.field) for r in RANGE_FILTERS},
        )
        _extents_cache.clear()
        _extents_cache[version] = {
            r.key: (finite_or_none(row[f"lo_{r.key}"]), finite_or_none(row[f"hi_{r.key}"])) for r in RANGE_FILTERS
        }
    return _extents_cache[version]


# --- the parallel-coordinates view ----------------------------------------------------------------------------

PARCOORDS_MAX_CELLS = 200_000


def feature_columns(*, keys: Sequence[str], filters: Filters, q: str = "") -> dict[str, Any]:
    """The range features `keys` of the cells under the facets and the text (NOT the ranges: the view draws them as
    brushes over every cell), as columns: {"specimen_id": [...], key: [...]}; a missing value is None. Values are
    rounded one digit finer than the bounds are shown, which keeps the payload small. One query."""
    chosen = [RANGE_FILTERS_BY_KEY[key] for key in dict.fromkeys(keys) if key in RANGE_FILTERS_BY_KEY]
    rows = (
        cell_queryset(filters=filters, q=q)
        .order_by("specimen_id")
        .values_list("specimen_id", *(r.field for r in chosen))[:PARCOORDS_MAX_CELLS]
    )
    columns: dict[str, list[Any]] = {"specimen_id": []}
    for r in chosen:
        columns[r.key] = []
    digits = [r.digits + 1 for r in chosen]
    for specimen_id, *values in rows.iterator(chunk_size=5000):
        columns["specimen_id"].append(specimen_id)
        for r, value, places in zip(chosen, values, digits, strict=True):
            value = finite_or_none(value)
            columns[r.key].append(None if value is None else round(value, places))
    return columns


# --- downloads ------------------------------------------------------------------------------------------------


def cell_rows(
    *, filters: Filters, q: str = "", ranges: Ranges | None = None, sort: str = DEFAULT_SORT
) -> Iterator[tuple[Any, ...]]:
    """The matching cells as tuples of Allen's 54 columns (see ALLEN_FIELDS), in the order of the search page's
    `sort`; NaN becomes None."""
    names = [name for name, _ in ALLEN_FIELDS]
    cells = _sorted(cell_queryset(filters=filters, q=q, ranges=ranges), sort).values_list(*names)
    for row in cells.iterator(chunk_size=2000):
        yield tuple(finite_or_none(v) for v in row)
