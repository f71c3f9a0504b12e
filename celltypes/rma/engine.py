"""parse -> plan -> ORM -> records. `run_query` is the engine's one entry point for the views and for tests."""

from dataclasses import dataclass

from celltypes.rma.errors import RmaError
from celltypes.rma.planner import Plan, plan, prefetches
from celltypes.rma.serialize import fields_of_flat, flat_records, records
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
    if p.tabular is not None:
        lookups = [lookup for lookup, _ in p.tabular]
        values = queryset.values_list(*lookups)
        if p.tabular_distinct:
            values = values.distinct()
        total = values.count()
        rows = [] if p.debug == "preview" else list(values[start:stop])
        keys = [key for _, key in p.tabular]
        found = [dict(zip(keys, row, strict=True)) for row in rows]
        return RmaResult(found, p.start_row, total, p)
    total = queryset.count()
    if p.debug == "preview" or p.num_rows == 0:
        return RmaResult([], p.start_row, total, p)
    if p.includes or p.model.computed:
        objs = list(queryset.prefetch_related(*prefetches(p.includes))[start:stop])
        return RmaResult(records(p, objs), p.start_row, total, p)
    attnames = [attname for _, attname in fields_of_flat(p)]
    rows = list(queryset.values(*attnames)[start:stop])
    return RmaResult(flat_records(p, rows), p.start_row, total, p)
