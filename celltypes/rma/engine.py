"""parse -> plan -> ORM -> records. `run_query` is the engine's one entry point for the views and for tests."""

from collections.abc import Iterable
from dataclasses import dataclass, replace

from celltypes.rma import includes, limits, row_cache
from celltypes.rma.errors import RmaError
from celltypes.rma.planner import MAX_NUM_ROWS, Plan, plan
from celltypes.rma.serialize import fields_of_flat, records
from celltypes.rma.syntax import (
    Association,
    Filter,
    ModelStage,
    Op,
    Options,
    PipeStage,
    Query,
    ServiceStage,
    Value,
    ValueKind,
)

# Flat pages at least this big read their rows from the row cache (JSON answers only); smaller ones query directly.
ROW_CACHE_MIN_ROWS = 500


@dataclass(frozen=True)
class RmaResult:
    records: list[dict]
    start_row: int
    total_rows: int
    plan: Plan

    @property
    def num_rows(self) -> int:
        return len(self.records)


def run_query(query: Query, *, json_version: int | None = None) -> RmaResult:
    """Run the stages in order; `pipe::list[var$eq'attr']` binds the `attr` values of the model stage before it to
    `$var` for the stages after it. The answer is the last model stage's.

    With `json_version` (the atlas version, for a JSON answer) big flat pages come back as pre-serialised
    orjson fragments from the row cache rather than dicts: only the JSON renderer may be given such records.
    Every statement runs under the deadline of `limits.deadline` (QueryTimeout past it).
    """
    with limits.deadline():
        return _run_stages(query, json_version)


def _run_stages(query: Query, json_version: int | None) -> RmaResult:
    bound: dict[str, tuple[Value, ...]] = {}
    result: RmaResult | None = None
    for index, stage in enumerate(query.stages):
        if isinstance(stage, ServiceStage):
            raise RmaError(
                f"service::{stage.name} is not offered here (this server answers model:: queries)", stage.position
            )
        if isinstance(stage, PipeStage):
            if result is None:
                raise RmaError("pipe:: needs a model:: stage before it", stage.position)
            name, values = _pipe_values(stage, result)
            bound[name] = values
            continue
        stage = _bind(stage, bound)
        if any(isinstance(later, ModelStage) for later in query.stages[index + 1 :]):
            # A stage feeding a pipe: every row (up to the page cap) unless it says otherwise.
            stage = replace(stage, options=Options(num_rows=MAX_NUM_ROWS).merged(stage.options))
            result = _run_stage(stage)
        else:
            result = _run_stage(stage, json_version=json_version)
    if result is None or not isinstance(query.stages[-1], ModelStage):
        raise RmaError("a query ends with a model:: stage", query.stages[-1].position if query.stages else 0)
    return result


def _pipe_values(stage: PipeStage, result: RmaResult) -> tuple[str, tuple[Value, ...]]:
    if stage.name != "list":
        raise RmaError(f"unknown pipe 'pipe::{stage.name}' (this server knows pipe::list)", stage.position)
    if len(stage.params) != 1 or stage.params[0].op != Op.EQ or len(stage.params[0].values) != 1:
        raise RmaError("pipe::list takes one parameter: [variable$eq'attribute']", stage.position)
    param = stage.params[0]
    attr = param.values[0].text
    if result.records and attr not in result.records[0]:
        raise RmaError(f"pipe::list: the stage before it has no attribute '{attr}'", param.position)
    values = []
    for record in result.records:
        value = record.get(attr)
        if value is None or isinstance(value, dict | list):
            continue
        if isinstance(value, bool):
            values.append(Value("true" if value else "false"))
        elif isinstance(value, int | float):
            values.append(Value(repr(value)))
        else:
            values.append(Value(str(value), quoted=True))
    return param.attr, tuple(dict.fromkeys(values))


def _bind(stage: ModelStage, bound: dict[str, tuple[Value, ...]]) -> ModelStage:
    """`stage` with each `$var` replaced by the values pipe::list bound to it."""

    def bind_filter(item: Filter) -> Filter:
        if not any(value.kind == ValueKind.PIPEVAR for value in item.values):
            return item
        values: list[Value] = []
        for value in item.values:
            if value.kind != ValueKind.PIPEVAR:
                values.append(value)
                continue
            name = value.text[1:]
            if name not in bound:
                raise RmaError(f"pipe variable ${name} is not bound by an earlier pipe::list", item.position)
            values.extend(bound[name])
        if item.op != Op.IN and len(values) != 1:
            raise RmaError(
                f"'{item.attr}': a pipe variable holding {len(values)} values needs $in, not ${item.op.value}",
                item.position,
            )
        return replace(item, values=tuple(values))  # an empty $in list matches nothing

    def bind_association(association: Association) -> Association:
        return replace(
            association,
            filters=tuple(map(bind_filter, association.filters)),
            children=tuple(map(bind_association, association.children)),
        )

    return replace(
        stage,
        filters=tuple(map(bind_filter, stage.filters)),
        criteria=tuple(map(bind_association, stage.criteria)),
        include=tuple(map(bind_association, stage.include)),
    )


def _run_stage(stage: ModelStage, json_version: int | None = None) -> RmaResult:
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
        roots = list(queryset[start:stop])
        found = records(p, roots, includes.load(p.model, roots, p.includes))
    else:
        # The flat path (the SDK's cell table, features, sweeps): tuples straight into dicts, no per-value work.
        # Non-finite floats are left to the renderers (orjson writes them as null).
        fields = fields_of_flat(p)
        names = tuple(name for name, _ in fields)
        attnames = tuple(attname for _, attname in fields)
        if json_version is not None and names and p.num_rows >= ROW_CACHE_MIN_ROWS:
            fragments = _cached_fragments(p, names, attnames, json_version, queryset[start:stop])
            if fragments is not None:
                return RmaResult(fragments, p.start_row, _total(queryset, start, p.num_rows, len(fragments), False), p)
        # values_list() with no field would mean every field: `except` may have removed them all.
        rows = queryset.values_list(*attnames or ["pk"])[start:stop]
        found = _records_of(names, rows)
    return RmaResult(found, p.start_row, _total(queryset, start, p.num_rows, len(found), False), p)


def _cached_fragments(p: Plan, names: tuple[str, ...], attnames: tuple[str, ...], version: int, page) -> list | None:
    """The page's rows as JSON fragments from the row cache; None when the table is not cacheable or the cache
    lacks a row of the page (then the caller reads the rows itself)."""
    model = p.model.django_model

    def records() -> Iterable[tuple[int, dict]]:
        rows = list(model.objects.values_list("pk", *attnames))
        return zip([row[0] for row in rows], _records_of(names, [row[1:] for row in rows]), strict=True)

    fragments = row_cache.table((p.model.name, names, attnames, version), count=model.objects.count, records=records)
    if fragments is None:
        return None
    pks = list(page.values_list("pk", flat=True))
    try:
        return [fragments[pk] for pk in pks]
    except KeyError:
        return None


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
