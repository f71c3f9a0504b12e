"""Root rows (+ prefetched includes) -> plain dicts honouring only/except.

Nested records have non-finite floats turned into None here; flat rows keep them and the renderers write them
as null / nil / empty (orjson does so by itself), so that the SDK's simplejson never sees NaN.
"""

import math

from celltypes.rma.planner import IncludeNode, Plan
from celltypes.rma.schema import RmaModel


def _visible(model: RmaModel, plan: Plan) -> list[tuple[str, str]]:
    """(Allen name, attname) of the attributes a record of `model` shows under the plan's only/except."""
    names = [(a.name, a.field) for a in model.attributes.values()] + [(c, c) for c in model.computed]

    def named(refs: set[tuple[str | None, str]], name: str) -> bool:
        return (None, name) in refs or (model.table, name) in refs

    if plan.only is not None:
        relevant = {ref for ref in plan.only if ref[0] in (None, model.table)}
        known = {n for n, _ in names}
        if any(attr in known for _, attr in relevant):
            names = [(n, f) for n, f in names if named(relevant, n)]
    if plan.except_:
        names = [(n, f) for n, f in names if not named(plan.except_, n)]
    return names


def clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(plan: Plan, rows) -> list[dict]:
    fields_cache: dict[str, list[tuple[str, str]]] = {}

    def fields_of(model: RmaModel) -> list[tuple[str, str]]:
        if model.name not in fields_cache:
            fields_cache[model.name] = _visible(model, plan)
        return fields_cache[model.name]

    def one(model: RmaModel, obj, nodes: dict[str, IncludeNode]) -> dict:
        out = {name: clean(getattr(obj, attname)) for name, attname in fields_of(model)}
        for key, node in nodes.items():
            value = _related(obj, node)
            if node.many:
                out[key] = [one(node.model, item, node.children) for item in value]
            elif value is not None:
                out[key] = one(node.model, value, node.children)
        return out

    return [one(plan.model, row, plan.includes) for row in rows]


def fields_of_flat(plan: Plan) -> list[tuple[str, str]]:
    return [(n, f) for n, f in _visible(plan.model, plan) if n not in plan.model.computed]


def _related(obj, node: IncludeNode):
    if node.many and not node.wrap_single:
        return list(getattr(obj, node.accessor).all())
    try:
        value = getattr(obj, node.accessor)
    except Exception as exc:  # a missing reverse one-to-one raises RelatedObjectDoesNotExist
        if type(exc).__name__ == "RelatedObjectDoesNotExist" or exc.__class__.__name__.endswith("DoesNotExist"):
            value = None
        else:
            raise
    if node.wrap_single:
        return [value] if value is not None else []
    return value
