"""rma::include: the included rows of a page of roots, loaded one level at a time, in batches, within a row budget.

Django's prefetch_related reads a whole level in one statement (on SQLite, 999 or more roots make "Expression tree
is too large") and without a bound. Here a level is read BATCH parent keys at a time, and no statement asks for more
rows than are left of RMA_MAX_INCLUDED_ROWS (counted over all levels). A row shared by many parents is read once
here; serialize.records counts it again wherever the answer repeats it (`products(specimens)` over every specimen
reads 4,670 rows but would nest millions of records).
"""

from dataclasses import dataclass

from django.db import models as dj
from django.db.models import F

from celltypes.rma.limits import IncludedRows
from celltypes.rma.planner import IncludeNode
from celltypes.rma.schema import RmaModel, rma_rows

BATCH = 500
_PARENT = "_rma_parent_key"  # annotation holding the parent's key on rows reached through a many-to-many table


@dataclass(frozen=True)
class _Link:
    parent_key: str  # attribute of a parent row holding the key
    child_lookup: str  # ORM lookup, from the child model, of the same key
    child_key: str  # attribute of a loaded child row holding it


@dataclass(frozen=True)
class Loaded:
    """The rows of one include node, grouped by the key a parent row holds in its attribute `parent_key`; `path`
    names the node in messages (`products(specimens)`)."""

    parent_key: str
    rows: dict[object, list[dj.Model]]
    path: str

    def of(self, parent: dj.Model) -> list[dj.Model]:
        return self.rows.get(getattr(parent, self.parent_key), [])


Included = dict[int, Loaded]  # by id() of the IncludeNode


def load(root: RmaModel, roots: list[dj.Model], nodes: dict[str, IncludeNode]) -> Included:
    """The rows of every include node under `roots`, in each model's default order; RmaError past the row budget."""
    included: Included = {}
    _load_level(root.django_model, roots, nodes, IncludedRows(), included, "")
    return included


def _load_level(
    parent_model: type[dj.Model],
    parents: list[dj.Model],
    nodes: dict[str, IncludeNode],
    budget: IncludedRows,
    included: Included,
    path: str,
) -> None:
    for name, node in nodes.items():
        where = f"{path}({name})" if path else name
        link = _link(parent_model, node.accessor)
        keys = list(dict.fromkeys(key for key in (getattr(p, link.parent_key) for p in parents) if key is not None))
        queryset = _rows_of(node)
        rows: dict[object, list[dj.Model]] = {}
        children: dict[object, dj.Model] = {}
        for start in range(0, len(keys), BATCH):
            batch = queryset.filter(**{f"{link.child_lookup}__in": keys[start : start + BATCH]})
            if link.child_key == _PARENT:
                batch = batch.annotate(**{_PARENT: F(link.child_lookup)})  # after filter(): the same join
            found = list(batch[: budget.left() + 1])
            budget.add(len(found), where)
            for child in found:
                rows.setdefault(getattr(child, link.child_key), []).append(child)
                children.setdefault(child.pk, child)
        included[id(node)] = Loaded(link.parent_key, rows, where)
        if node.children:
            _load_level(node.model.django_model, list(children.values()), node.children, budget, included, where)


def _rows_of(node: IncludeNode) -> dj.QuerySet:
    """The node's model, pruned by its filters (through a subquery, so that joins in them cannot repeat rows)."""
    django_model = node.model.django_model
    if not node.filters:
        return rma_rows(django_model)
    return rma_rows(django_model).filter(pk__in=django_model.objects.filter(node.filters).values("pk"))


def _link(parent_model: type[dj.Model], accessor: str) -> _Link:
    field = parent_model._meta.get_field(accessor)
    if field.many_to_many:
        query_name = field.related_query_name() if field.concrete else field.field.name
        return _Link(parent_model._meta.pk.attname, query_name, _PARENT)
    if field.concrete:  # a foreign key on the parent row
        target = field.target_field.attname
        return _Link(field.attname, target, target)
    remote = field.field  # a foreign key on the child row
    return _Link(remote.target_field.attname, remote.attname, remote.attname)
