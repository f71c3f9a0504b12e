"""Syntax tree + schema -> a QuerySet and an include plan (includes.py loads it). ORM-aware, like includes.py.

Join semantics (protocol notes §4): criteria paths are EXISTS conditions on the root; include paths eager-load,
and an include path with filters also restricts the roots and prunes its nested lists; criteria filters on a path
that is also included prune that included list; roots are distinct.
"""

from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet

from celltypes.rma.errors import RmaError
from celltypes.rma.patterns import IPatternMatch, PatternMatch
from celltypes.rma.schema import RmaAttribute, RmaModel, model_named, rma_rows, schema
from celltypes.rma.syntax import Association, Filter, ModelStage, Op, OrderBy, Value, ValueKind

DEFAULT_NUM_ROWS = 50
MAX_NUM_ROWS = 25_000
MAX_NESTING = 8  # to-many steps in one criteria path (each is a nested subquery; SQLite's parser has a depth limit)

_LOOKUPS = {Op.EQ: "exact", Op.LT: "lt", Op.LE: "lte", Op.GT: "gt", Op.GE: "gte"}


@dataclass
class IncludeNode:
    """One included association, with the filters that prune it and its own included children."""

    model: RmaModel
    association_name: str
    accessor: str
    many: bool
    filters: Q = field(default_factory=Q)
    children: dict[str, "IncludeNode"] = field(default_factory=dict)


@dataclass
class Plan:
    model: RmaModel
    queryset: QuerySet  # roots, filtered and ordered, not yet sliced
    includes: dict[str, IncludeNode]
    start_row: int
    num_rows: int
    count: bool
    only: set[tuple[str | None, str]] | None
    except_: set[tuple[str | None, str]]
    tabular: list[tuple[str, str]] | None  # (ORM lookup, output key)
    tabular_distinct: bool
    debug: bool | str | None


def plan(stage: ModelStage) -> Plan:
    model = model_named(stage.model)
    if model is None:
        raise RmaError(f"unknown model '{stage.model}' (known: {', '.join(sorted(schema()))})", stage.position)
    root_q = Q()
    for item in stage.filters:
        root_q &= _filter_q(model, item)
    for path in stage.criteria:
        root_q &= _path_q([model], path)
    includes: dict[str, IncludeNode] = {}
    for path in stage.include:
        _add_include(model, model, path, includes)
        if _has_filters(path):
            root_q &= _path_q([model], path, filtered_only=True)
    for path in stage.criteria:
        _prune_includes(model, model, path, includes)
    django_model = model.django_model
    queryset = rma_rows(django_model)
    if root_q:
        queryset = queryset.filter(pk__in=django_model.objects.filter(root_q).values("pk"))
    options = stage.options
    queryset = queryset.order_by(*_order(model, options.order))
    num_rows = _num_rows(options.num_rows)
    start_row = options.start_row or 0
    only = {(ref.table, ref.attr) for ref in options.only} if options.only else None
    except_ = {(ref.table, ref.attr) for ref in options.except_} if options.except_ else set()
    tabular = _tabular(model, stage, options.tabular.columns) if options.tabular else None
    return Plan(
        model=model,
        queryset=queryset,
        includes=includes,
        start_row=start_row,
        num_rows=num_rows,
        count=options.count is not False,
        only=only,
        except_=except_,
        tabular=tabular,
        tabular_distinct=bool(options.tabular and options.tabular.distinct),
        debug=options.debug,
    )


def _num_rows(value) -> int:
    if value is None:
        return DEFAULT_NUM_ROWS
    if value == "all":
        return MAX_NUM_ROWS
    if value < 0:
        raise RmaError("num_rows must not be negative")
    return min(int(value), MAX_NUM_ROWS)


# ---- filters ----------------------------------------------------------------------------------------------
def _resolve_attribute(chain: list[RmaModel], item: Filter) -> tuple[int, RmaAttribute]:
    """The attribute a filter names: on the innermost model first, then up the parent chain (Allen resolves
    `well_known_file_type[attachable_type$eq...]` on WellKnownFile); `table.attr` picks the table."""
    candidates = list(range(len(chain) - 1, -1, -1))
    if item.table is not None:
        candidates = [i for i in candidates if chain[i].table == item.table]
        if not candidates:
            raise RmaError(f"unknown table '{item.table}' in filter on '{item.attr}'", item.position)
    for index in candidates:
        attribute = chain[index].attributes.get(item.attr)
        if attribute is not None:
            return index, attribute
    raise RmaError(f"unknown attribute '{item.attr}' of model {chain[-1].name}", item.position)


def _filter_q(model: RmaModel, item: Filter) -> Q:
    _, attribute = _resolve_attribute([model], item)
    return _condition(attribute.field, attribute, item)


def _condition(lookup: str, attribute: RmaAttribute, item: Filter) -> Q:
    if item.op is None or item.op == Op.NONNULL:
        return Q(**{f"{lookup}__isnull": False})
    if item.op == Op.NULL:
        return Q(**{f"{lookup}__isnull": True})
    if item.op == Op.IN:
        values = [_coerce(attribute, v, item) for v in item.values]
        non_null = [v for v in values if v is not None]
        q = Q(**{f"{lookup}__in": non_null})
        return q | Q(**{f"{lookup}__isnull": True}) if len(non_null) != len(values) else q
    if len(item.values) != 1:
        raise RmaError(f"'${item.op.value}' takes one value", item.position)
    if item.op in (Op.LI, Op.IL) and attribute.kind != "text":
        kind = {"int": "an integer", "float": "a number", "bool": "true or false"}.get(attribute.kind, "not text")
        raise RmaError(f"'${item.op.value}' matches text; '{attribute.name}' is {kind}", item.position)
    value = _coerce(attribute, item.values[0], item)
    if item.op in (Op.LI, Op.IL):
        if value is None:
            raise RmaError(f"'${item.op.value}' needs a pattern, not null", item.position)
        match = PatternMatch if item.op == Op.LI else IPatternMatch
        return Q(match(F(lookup), item.values[0].text))
    if item.op == Op.EQ:
        return Q(**{f"{lookup}__isnull": True}) if value is None else Q(**{lookup: value})
    if item.op == Op.NE:
        if value is None:
            return Q(**{f"{lookup}__isnull": False})
        return Q(**{f"{lookup}__isnull": False}) & ~Q(**{lookup: value})
    if item.op in _LOOKUPS:
        if value is None:
            raise RmaError(f"'${item.op.value}' cannot compare with null", item.position)
        return Q(**{f"{lookup}__{_LOOKUPS[item.op]}": value})
    raise RmaError(f"operator '${item.op.value}' is not allowed in a model filter", item.position)


def _coerce(attribute: RmaAttribute, value: Value, item: Filter):
    kind = value.kind
    text = value.text
    if kind == ValueKind.PIPEVAR:
        raise RmaError("pipe variables ($name) are not supported", item.position)
    if kind == ValueKind.NULL or (value.quoted and text.lower() == "null"):
        return None
    if attribute.kind in ("int", "float"):
        try:
            number = float(text)
        except ValueError:
            raise RmaError(f"'{attribute.name}' is numeric; '{text}' is not a number", item.position) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise RmaError(f"'{attribute.name}' needs a finite number, not '{text}'", item.position)
        if attribute.kind == "int":
            if number != int(number):
                raise RmaError(f"'{attribute.name}' is an integer; '{text}' is not", item.position)
            number = int(number)
            if abs(number) > 2**63 - 1:
                raise RmaError(f"'{text}' is out of range for '{attribute.name}'", item.position)
        return number
    if attribute.kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "t", "1"):
            return True
        if lowered in ("false", "f", "0"):
            return False
        raise RmaError(f"'{attribute.name}' is true or false; '{text}' is neither", item.position)
    if attribute.kind == "json":
        raise RmaError(f"'{attribute.name}' cannot be filtered", item.position)
    if "\x00" in text:
        raise RmaError(f"'{attribute.name}': a text value cannot hold the NUL character", item.position)
    return text


# ---- association paths ------------------------------------------------------------------------------------
def _association(model: RmaModel, path: Association):
    association = model.associations.get(path.name)
    if association is None:
        known = ", ".join(sorted(model.associations)) or "none"
        raise RmaError(f"unknown association '{path.name}' of model {model.name} (known: {known})", path.position)
    return association, schema()[association.target]


def _has_filters(path: Association) -> bool:
    return bool(path.filters) or any(_has_filters(child) for child in path.children)


def _path_q(chain: list[RmaModel], path: Association, filtered_only: bool = False) -> Q:
    """A Q on the rows of `chain[-1]`: a related row along `path` exists that meets every filter on it.

    To-one steps are joins; each to-many step is a semi-join (`accessor IN (SELECT ...)`), so the filters of one
    level hold on one and the same related row and a long path never multiplies rows. A filter naming a column of an
    enclosing model (`well_known_file_type[attachable_type$eq...]` names a WellKnownFile column) is applied at that
    model's level. `filtered_only` (include paths): only the branches that carry filters must exist; unfiltered
    branches are outer joins (`neuronal_models(neuronal_model_template[id$in...],neuronal_model_runs)` keeps models
    without runs).
    """
    pending: dict[int, Q] = {}
    levels = [_Level(base=i, prefix=()) for i in range(len(chain))]
    q = _exists(chain, levels, path, filtered_only, pending, nesting=0)
    return q & pending.pop(len(chain) - 1, Q())


@dataclass(frozen=True)
class _Level:
    base: int  # index (in the chain) of the model whose rows the enclosing subquery selects
    prefix: tuple[str, ...]  # accessors from that model to this level (to-one joins)


def _lookup(level: _Level, name: str) -> str:
    return "__".join((*level.prefix, name))


def _exists(
    chain: list[RmaModel], levels: list[_Level], path: Association, filtered_only: bool, pending: dict, nesting: int
) -> Q:
    """A Q relative to the parent level's subquery model (see `_path_q`)."""
    association, target = _association(chain[-1], path)
    parent = levels[-1]
    index = len(chain)
    if association.many:
        nesting += 1
        if nesting > MAX_NESTING:
            raise RmaError(
                f"association path too deep at '{path.name}' (at most {MAX_NESTING} to-many steps)", path.position
            )
        level = _Level(base=index, prefix=())
    else:
        level = _Level(base=parent.base, prefix=(*parent.prefix, association.accessor))
    here, here_levels = [*chain, target], [*levels, level]
    q = Q()
    for item in path.filters:
        at, attribute = _resolve_attribute(here, item)
        condition = _condition(_lookup(here_levels[at], attribute.field), attribute, item)
        if at == index:
            q &= condition
        else:
            pending[at] = pending.get(at, Q()) & condition
    children = [c for c in path.children if _has_filters(c)] if filtered_only else list(path.children)
    for child in children:
        q &= _exists(here, here_levels, child, filtered_only, pending, nesting)
    q &= pending.pop(index, Q())
    if not association.many:
        return q if q else Q(**{f"{'__'.join(level.prefix)}__isnull": False})
    if not q:
        return Q(**{f"{_lookup(parent, association.accessor)}__isnull": False})
    return Q(**{f"{_lookup(parent, association.accessor)}__in": target.django_model.objects.filter(q)})


def _add_include(
    root: RmaModel, model: RmaModel, path: Association, nodes: dict[str, IncludeNode], ancestors=()
) -> None:
    association, target = _association(model, path)
    node = nodes.get(path.name)
    if node is None:
        node = nodes[path.name] = IncludeNode(
            model=target,
            association_name=path.name,
            accessor=association.accessor,
            many=association.many,
        )
    _constrain(root, node, path, ancestors)
    for child in path.children:
        _add_include(root, target, child, node.children, (*ancestors, node))


def _constrain(root: RmaModel, node: IncludeNode, path: Association, ancestors: tuple[IncludeNode, ...]) -> None:
    """Prune `node` to the rows `path` keeps: its filters, and existence of its filtered descendants.

    A filter naming a column of an enclosing model (`well_known_file_type[attachable_type$eq...]` names a
    WellKnownFile column) prunes that enclosing list; one naming a root column only restricts the roots.
    """
    chain_nodes = [None, *ancestors, node]
    chain = [root, *(n.model for n in chain_nodes[1:])]
    for item in path.filters:
        index, attribute = _resolve_attribute(chain, item)
        owner = chain_nodes[index]
        if owner is not None:
            owner.filters &= _condition(attribute.field, attribute, item)
    for child in path.children:
        if _has_filters(child):
            node.filters &= _path_q([node.model], child, filtered_only=True)


def _prune_includes(
    root: RmaModel, model: RmaModel, path: Association, nodes: dict[str, IncludeNode], ancestors=()
) -> None:
    """Criteria filters on a path that is also included prune that included list."""
    node = nodes.get(path.name)
    if node is None:
        _association(model, path)
        return
    if _has_filters(path):
        _constrain(root, node, path, ancestors)
    for child in path.children:
        _prune_includes(root, node.model, child, node.children, (*ancestors, node))


# ---- options ----------------------------------------------------------------------------------------------
def _order(model: RmaModel, order: tuple[OrderBy, ...] | None) -> list[str]:
    if not order:
        return [model.django_model._meta.pk.attname]
    out = []
    for item in order:
        if item.table is not None and item.table != model.table:
            raise RmaError(f"order by '{item.table}.{item.attr}': only columns of {model.table} can order rows")
        attribute = model.attributes.get(item.attr)
        if attribute is None:
            raise RmaError(f"cannot order by unknown attribute '{item.attr}' of model {model.name}")
        out.append(("-" if item.direction == "desc" else "") + attribute.field)
    pk = model.django_model._meta.pk.attname
    if pk not in {o.lstrip("-") for o in out}:
        out.append(pk)
    return out


def _tabular(model: RmaModel, stage: ModelStage, columns) -> list[tuple[str, str]]:
    """ORM lookups for tabular columns; `table.attr` may name the root or any table on a criteria/include path."""
    tables: dict[str, tuple[list[str], RmaModel]] = {model.table: ([], model)}

    def walk(current: RmaModel, path: Association, accessors: list[str]) -> None:
        association, target = _association(current, path)
        here = [*accessors, association.accessor]
        tables.setdefault(target.table, (here, target))
        for child in path.children:
            walk(target, child, here)

    for path in (*stage.criteria, *stage.include):
        walk(model, path, [])
    out = []
    for column in columns:
        accessors, owner = tables.get(column.table or model.table, (None, None))
        if owner is None:
            raise RmaError(f"tabular column '{column.table}.{column.attr}': table '{column.table}' is not joined")
        attribute = owner.attributes.get(column.attr)
        if attribute is None:
            raise RmaError(f"tabular column: unknown attribute '{column.attr}' of model {owner.name}")
        lookup = "__".join([*accessors, attribute.field])
        out.append((lookup, column.alias or column.attr))
    return out
