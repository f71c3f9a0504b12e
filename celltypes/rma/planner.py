"""Syntax tree + schema -> a QuerySet and a prefetch plan. The only ORM-aware module of the RMA engine.

Join semantics (protocol notes §4): criteria paths are EXISTS conditions on the root; include paths eager-load,
and an include path with filters also restricts the roots and prunes its nested lists; criteria filters on a path
that is also included prune that included list; roots are distinct.
"""

import re
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from celltypes.rma.errors import RmaError
from celltypes.rma.schema import RmaAttribute, RmaModel, model_named, schema
from celltypes.rma.syntax import Association, Filter, ModelStage, Op, OrderBy, Value, ValueKind

DEFAULT_NUM_ROWS = 50
MAX_NUM_ROWS = 25_000

_LOOKUPS = {Op.EQ: "exact", Op.LT: "lt", Op.LE: "lte", Op.GT: "gt", Op.GE: "gte"}


@dataclass
class IncludeNode:
    """One included association, with the filters that prune it and its own included children."""

    model: RmaModel
    association_name: str
    accessor: str
    many: bool
    wrap_single: bool
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
        raise RmaError(
            f"unknown model '{stage.model}' (known: {', '.join(sorted(schema()))})", stage.position
        )
    root_q = Q()
    for item in stage.filters:
        root_q &= _filter_q(model, [], item)
    for path in stage.criteria:
        root_q &= _path_q(model, path, [], [model])
    includes: dict[str, IncludeNode] = {}
    for path in stage.include:
        _add_include(model, path, includes)
        if _has_filters(path):
            root_q &= _path_q(model, path, [], [model])
    for path in stage.criteria:
        _prune_includes(model, path, includes)
    django_model = model.django_model
    queryset = django_model.objects.all()
    if root_q:
        queryset = django_model.objects.filter(pk__in=django_model.objects.filter(root_q).values("pk"))
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


def _filter_q(root: RmaModel, accessors: list[str], item: Filter, chain: list[RmaModel] | None = None) -> Q:
    chain = chain or [root]
    index, attribute = _resolve_attribute(chain, item)
    prefix = "__".join(accessors[:index])
    lookup = f"{prefix}__{attribute.field}" if prefix else attribute.field
    return _condition(lookup, attribute, item)


def _condition(lookup: str, attribute: RmaAttribute, item: Filter) -> Q:
    if item.op is None:
        return Q(**{f"{lookup}__isnull": False})
    if item.op == Op.IN:
        values = [_coerce(attribute, v, item) for v in item.values]
        non_null = [v for v in values if v is not None]
        q = Q(**{f"{lookup}__in": non_null})
        return q | Q(**{f"{lookup}__isnull": True}) if len(non_null) != len(values) else q
    if len(item.values) != 1:
        raise RmaError(f"'${item.op.value}' takes one value", item.position)
    value = _coerce(attribute, item.values[0], item)
    if item.op in (Op.LI, Op.IL):
        if value is None:
            raise RmaError(f"'${item.op.value}' needs a pattern, not null", item.position)
        pattern = "^" + ".*".join(re.escape(part) for part in str(item.values[0].text).split("*")) + "$"
        return Q(**{f"{lookup}__{'regex' if item.op == Op.LI else 'iregex'}": pattern})
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
            raise RmaError(
                f"'{attribute.name}' is numeric; '{text}' is not a number", item.position
            ) from None
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
    return text


# ---- association paths ------------------------------------------------------------------------------------
def _association(model: RmaModel, path: Association):
    association = model.associations.get(path.name)
    if association is None:
        known = ", ".join(sorted(model.associations)) or "none"
        raise RmaError(
            f"unknown association '{path.name}' of model {model.name} (known: {known})", path.position
        )
    return association, schema()[association.target]


def _has_filters(path: Association) -> bool:
    return bool(path.filters) or any(_has_filters(child) for child in path.children)


def _path_q(root: RmaModel, path: Association, accessors: list[str], chain: list[RmaModel]) -> Q:
    """One Q that holds when the root has a row along `path` meeting every filter on it (same-join semantics)."""
    association, target = _association(chain[-1], path)
    accessors = [*accessors, association.accessor]
    chain = [*chain, target]
    q = Q()
    for item in path.filters:
        q &= _filter_q(root, accessors, item, chain)
    if not path.children:
        if not path.filters:
            q &= Q(**{f"{'__'.join(accessors)}__isnull": False})
        return q
    for child in path.children:
        q &= _path_q(root, child, accessors, chain)
    return q


def _add_include(model: RmaModel, path: Association, nodes: dict[str, IncludeNode]) -> None:
    association, target = _association(model, path)
    node = nodes.get(path.name)
    if node is None:
        node = nodes[path.name] = IncludeNode(
            model=target,
            association_name=path.name,
            accessor=association.accessor,
            many=association.many,
            wrap_single=association.wrap_single,
        )
    condition = _node_condition(target, path)
    node.filters &= condition
    for child in path.children:
        _add_include(target, child, node.children)


def _node_condition(target: RmaModel, path: Association) -> Q:
    """The rows of `target` that this path keeps: its own filters, and existence of filtered descendants."""
    q = Q()
    for item in path.filters:
        q &= _filter_q(target, [], item)
    for child in path.children:
        if _has_filters(child):
            q &= _path_q(target, child, [], [target])
    return q


def _prune_includes(model: RmaModel, path: Association, nodes: dict[str, IncludeNode]) -> None:
    """Criteria filters on a path that is also included prune that included list."""
    node = nodes.get(path.name)
    if node is None:
        _association(model, path)
        return
    if _has_filters(path):
        node.filters &= _node_condition(node.model, path)
    for child in path.children:
        _prune_includes(node.model, child, node.children)


def prefetches(nodes: dict[str, IncludeNode]) -> list[Prefetch]:
    out = []
    for node in nodes.values():
        django_model = node.model.django_model
        queryset = django_model.objects.all()
        if node.filters:
            queryset = django_model.objects.filter(
                pk__in=django_model.objects.filter(node.filters).values("pk")
            )
        queryset = queryset.prefetch_related(*prefetches(node.children))
        out.append(Prefetch(node.accessor, queryset=queryset))
    return out


# ---- options ----------------------------------------------------------------------------------------------
def _order(model: RmaModel, order: tuple[OrderBy, ...] | None) -> list[str]:
    if not order:
        return [model.django_model._meta.pk.attname]
    out = []
    for item in order:
        if item.table is not None and item.table != model.table:
            raise RmaError(
                f"order by '{item.table}.{item.attr}': only columns of {model.table} can order rows"
            )
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
            raise RmaError(
                f"tabular column '{column.table}.{column.attr}': table '{column.table}' is not joined"
            )
        attribute = owner.attributes.get(column.attr)
        if attribute is None:
            raise RmaError(f"tabular column: unknown attribute '{column.attr}' of model {owner.name}")
        lookup = "__".join([*accessors, attribute.field])
        out.append((lookup, column.alias or column.attr))
    return out
