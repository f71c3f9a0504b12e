"""What the last demo load wrote, so that a load removes what its own snapshot no longer has.

load_demo upserts. Alone, a newer snapshot loaded over an older database would keep what the newer one dropped
(stale file records, a cell tagged both "apical - intact" and "apical - truncated"). The ledger (LoadedRows) names
every row and link the last load wrote; a load deletes those its snapshot lacks, so that after any sequence of
loads the tables hold what a fresh load of the last snapshot gives. Rows that upstream sync wrote are not in the
ledger and stay. A table the ledger does not list yet (a database loaded before the ledger existed) counts all
its rows as loaded, once.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db import models as dj

from celltypes.atlas.models import LoadedRows, Structure, WellKnownFile
from celltypes.atlas.tables import TableError

CHUNK = 500


def stale_rows_delete(
    *,
    rows: Mapping[type[dj.Model], Iterable[int]],
    links: Mapping[type[dj.Model], Iterable[tuple[int, int]]],
) -> set[int]:
    """Delete what the previous load wrote and this one's `rows` (primary keys by model, in writing order) and
    `links` (pairs by link table) lack, then record these as the loaded ones.

    Returns the ids of the well-known file records that went (their stored copies may go once this commits).
    """
    ledger = {entry.table: entry.keys for entry in LoadedRows.objects.all()}
    files_before = set(WellKnownFile.objects.values_list("id", flat=True))
    for through, pairs in links.items():
        _links_delete(through, _previous_links(through, ledger) - set(pairs))
    for model in reversed(list(rows)):
        rows_delete(model, _previous_rows(model, ledger) - set(rows[model]))
    LoadedRows.objects.all().delete()
    LoadedRows.objects.bulk_create(
        [LoadedRows(table=model._meta.db_table, keys=sorted(keys)) for model, keys in rows.items()]
        + [LoadedRows(table=through._meta.db_table, keys=sorted(map(list, pairs))) for through, pairs in links.items()]
    )
    return files_before - set(WellKnownFile.objects.values_list("id", flat=True))


def _link_columns(through: type[dj.Model]) -> tuple[str, str]:
    first, second = (f.attname for f in through._meta.concrete_fields if not f.primary_key)
    return first, second


def _previous_rows(model: type[dj.Model], ledger: dict[str, list]) -> set[int]:
    if model._meta.db_table in ledger:
        return set(ledger[model._meta.db_table])
    return set(model.objects.values_list("pk", flat=True))


def _previous_links(through: type[dj.Model], ledger: dict[str, list]) -> set[tuple[int, int]]:
    if through._meta.db_table in ledger:
        return {(a, b) for a, b in ledger[through._meta.db_table]}
    return set(through.objects.values_list(*_link_columns(through)))


def _links_delete(through: type[dj.Model], pairs: set[tuple[int, int]]) -> None:
    first, second = _link_columns(through)
    by_first: dict[int, list[int]] = defaultdict(list)
    for a, b in pairs:
        by_first[a].append(b)
    for a, bs in by_first.items():
        through.objects.filter(**{first: a, f"{second}__in": bs}).delete()


def rows_delete(model: type[dj.Model], pks: set[int]) -> None:
    """Delete rows `pks` of `model` (structures leaves first); TableError when another row still protects one."""
    if model is Structure:  # a parent is protected while a child refers to it: children first
        for level in _structure_levels(pks):
            _rows_delete_chunked(model, level)
    else:
        _rows_delete_chunked(model, sorted(pks))


def _rows_delete_chunked(model: type[dj.Model], pks: list[int]) -> None:
    for start in range(0, len(pks), CHUNK):
        chunk = pks[start : start + CHUNK]
        try:
            model.objects.filter(pk__in=chunk).delete()
        except dj.ProtectedError as exc:
            held = sorted({str(obj) for obj in exc.protected_objects})[:5]
            raise TableError(
                f"cannot remove {model.__name__} rows the demo set no longer has: still referenced by {held}"
            ) from None


def _structure_levels(pks: set[int]) -> list[list[int]]:
    """The stale structures, leaves first."""
    parents = dict(Structure.objects.filter(pk__in=pks).values_list("pk", "parent_id"))
    levels = []
    while parents:
        referenced = {parent for parent in parents.values() if parent in parents}
        level = sorted(pk for pk in parents if pk not in referenced)
        if not level:
            raise TableError(f"structures {sorted(parents)[:5]} form a cycle of parents")
        levels.append(level)
        for pk in level:
            del parents[pk]
    return levels
