"""parse -> plan -> ORM -> records. `run_query` is the engine's one entry point for the views and for tests."""

from dataclasses import dataclass

from celltypes.rma.errors import RmaError
from celltypes.rma.planner import Plan, plan, prefetches
from celltypes.rma.serialize import fields_of_flat, records
from celltypes.rma.syntax import ModelStage, Query


@dataclass(frozen=True)
class RmaResult:
    records: list[dict]
    start_row: int
    total_rows: int
    plan: Plan

    @property
    def num_rows(self) -> int:
        return len(self.records)


def run_query(query: Query) -> RmaResult:
    stages = query.stages
    if len(stages) != 1 or not isinstance(stages[0], ModelStage):
        kinds = ", ".join(type(s).__name__ for s in stages)
        raise RmaError(f"only a single model:: stage is supported here (got {kinds})")
    stage = stages[0]
    p = plan(stage)
    queryset = p.queryset
    start, stop = p.start_row, p.start_row + p.num_rows
    preview = p.debug == "preview" or p.num_rows == 0
    if p.tabular is not None:
        lookups = [lookup for lookup, _ in p.tabular]
        values = queryset.values_list(*lookups)
        ordering = list(queryset.query.order_by)
        if p.tabular_distinct:
            # DISTINCT over the tabular columns only: Django adds ORDER BY columns to the SELECT list, so order by
            # the requested columns that are tabular columns, then by the tabular columns themselves.
            kept = [o for o in ordering if o.lstrip("-") in lookups]
            values = values.order_by(*kept, *(lookup for lookup in lookups if lookup not in kept)).distinct()
        else:
            # Root order first; the joined columns break ties so that pages are stable.
            values = values.order_by(*ordering, *(lookup for lookup in lookups if lookup not in ordering))
        rows = [] if preview else list(values[start:stop])
        found = _records_of(tuple(key for _, key in p.tabular), rows)
        return RmaResult(found, p.start_row, _total(values, start, p.num_rows, len(rows), preview), p)
    if preview:
        return RmaResult([], p.start_row, queryset.count(), p)
    if p.includes or p.model.computed:
        objs = list(queryset.prefetch_related(*prefetches(p.includes))[start:stop])
        found = records(p, objs)
    else:
        # The flat path (the SDK's cell table, features, sweeps): tuples straight into dicts, no per-value work.
        # Non-finite floats are left to the renderers (orjson writes them as null).
        fields = fields_of_flat(p)
        names = tuple(name for name, _ in fields)
        # values_list() with no field would mean every field: `except` may have removed them all.
        rows = queryset.values_list(*(attname for _, attname in fields) or ["pk"])[start:stop]
        found = _records_of(names, rows)
    return RmaResult(found, p.start_row, _total(queryset, start, p.num_rows, len(found), False), p)


def _records_of(names: tuple[str, ...], rows) -> list[dict]:
    """One dict per row, keyed by `names` in order (no names: empty dicts, whatever the rows hold).

    Same result as dict(zip(names, row)), a name given twice included (first place, last value), but copying a
    dict that already holds every key and filling in its values skips the table growing and resizing of a new
    dict: about a tenth less time in this loop for the 54-column cell table.
    """
    blank = dict.fromkeys(names)
    strict = bool(names)
    found = []
    for row in rows:
        record = blank.copy()
        record.update(zip(names, row, strict=strict))
        found.append(record)
    return found


def _total(queryset, start: int, num_rows: int, got: int, preview: bool) -> int:
    """total_rows; a short, non-empty page (or a short first page) tells it without a COUNT query."""
    if not preview and got < num_rows and (got > 0 or start == 0):
        return start + got
    return queryset.count()
