"""Root rows (+ their included rows) -> plain dicts honouring only/except.

Nested records have non-finite floats turned into None here; flat rows keep them and the renderers write them
as null / nil / empty (orjson does so by itself), so that the SDK's simplejson never sees NaN.
"""

from celltypes.rma.includes import Included
from celltypes.rma.limits import IncludedRows
from celltypes.rma.planner import IncludeNode, Plan
from celltypes.rma.schema import RmaModel
from celltypes.science.values import finite_or_none


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


def records(plan: Plan, rows, included: Included) -> list[dict]:
    """One dict per root row, with its included rows (loaded by `includes.load`) nested under their names; an
    RmaError once the nested records pass RMA_MAX_INCLUDED_ROWS."""
    fields_cache: dict[str, list[tuple[str, str]]] = {}
    budget = IncludedRows()

    def fields_of(model: RmaModel) -> list[tuple[str, str]]:
        if model.name not in fields_cache:
            fields_cache[model.name] = _visible(model, plan)
        return fields_cache[model.name]

    def one(model: RmaModel, obj, nodes: dict[str, IncludeNode]) -> dict:
        out = {name: finite_or_none(getattr(obj, attname)) for name, attname in fields_of(model)}
        for key, node in nodes.items():
            loaded = included[id(node)]
            found = loaded.of(obj)
            budget.add(len(found) if node.many else min(len(found), 1), loaded.path)
            if node.many:
                out[key] = [one(node.model, item, node.children) for item in found]
            elif found:
                out[key] = one(node.model, found[0], node.children)
        return out

    return [one(plan.model, row, plan.includes) for row in rows]


def fields_of_flat(plan: Plan) -> list[tuple[str, str]]:
    return [(n, f) for n, f in _visible(plan.model, plan) if n not in plan.model.computed]
