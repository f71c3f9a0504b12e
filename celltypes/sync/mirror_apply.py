"""Phase 2 of the mirror sync: all staged tables -> the live tables, in ONE transaction.

Rows are upserted by Allen's id in foreign-key order (a changed record replaces ours; only new or changed rows are
written), links are set to exactly the upstream's, and a row inside the table's scope (mirror_tables) that the
upstream no longer lists is retired: deleted, with what hangs on it (cascades: our computed morphology, held trace
windows); a local row outside the scope is nothing the upstream said anything about, and stays (a demo NWB specimen
load_demo wrote). A file record whose path or type changed, or that went, loses its held bytes once the transaction
commits (the fetch-through fetches the new ones when asked).
A lab's own uploads (rows NOT_ALLENS names: a LabRecording's specimen and its sweeps, and their links) are never
Allen's: the apply never retires, overwrites or unlinks them (an upstream row with the id of one is an ApplyError).
The demo loader's ledger keeps only its rows outside the scopes: the mirror owns every row inside them now, so a
later load_demo adds and overwrites but never deletes mirrored rows. The atlas version goes up when anything
changed, so caches refresh.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db import models as dj
from django.utils import timezone

from celltypes.atlas import filestore
from celltypes.atlas.models import LoadedRows, WellKnownFile
from celltypes.atlas.services.loaded_rows import rows_delete
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.atlas.tables import TableError
from celltypes.rma.schema import NOT_ALLENS
from celltypes.sync.mirror_tables import (
    LINK_TABLES,
    OWNER_FIELDS,
    ROW_TABLES,
    FileOwners,
    ManyLink,
    RowTable,
    scoped_rows,
)
from celltypes.sync.models import SyncRun, SyncStagedPage

CHUNK = 500


class ApplyError(Exception):
    """What is staged cannot be applied: duplicate ids, a reference to a row the upstream does not list."""


def staged_apply(run_id: int, *, progress: Callable[[str, int, int], None] | None = None) -> tuple[dict, bool]:
    """Apply run `run_id`'s staged pages; returns ({table: {rows, new, changed, retired}}, whether anything changed).

    Marks the run complete and drops its pages in the same transaction.
    """
    progress = progress or (lambda table, done, total: None)
    incoming = {table: _rows(run_id, table) for table in ROW_TABLES}
    links = {link: _pairs(run_id, link) for link in LINK_TABLES}
    _references_check(incoming)
    _file_owners_add(links, incoming)  # written with the file rows (our columns, from the owners' lists)
    changes: dict[str, dict[str, int]] = {}
    steps = len(ROW_TABLES) + len(LINK_TABLES) + 1
    try:
        with transaction.atomic():
            files_before = {
                pk: (path, type_id)
                for pk, path, type_id in WellKnownFile.objects.values_list("id", "path", "well_known_file_type_id")
            }
            ours = {
                model: set(model.objects.filter(rows).values_list("pk", flat=True))
                for model, rows in NOT_ALLENS.items()
            }
            for index, table in enumerate(ROW_TABLES):
                changes[table.name] = _table_upsert(table, incoming[table], ours.get(table.model, set()))
                progress("apply", index + 1, steps)
            _hold_for_tests()
            moved = _file_contents_changed(files_before, incoming)
            for index, link in enumerate(LINK_TABLES):
                if isinstance(link, ManyLink):
                    changes[link.name] = _many_link_set(link, links[link], _root(link))
                progress("apply", len(ROW_TABLES) + index + 1, steps)
            for table in reversed(ROW_TABLES):
                # only rows inside the table's scope (not a lab upload, nor a row the scope leaves out)
                stale = set(scoped_rows(table).values_list("pk", flat=True)) - set(incoming[table])
                rows_delete(table.model, stale)
                changes[table.name]["retired"] = len(stale)
            gone = set(files_before) - set(WellKnownFile.objects.values_list("id", flat=True))
            _ledger_release()
            changed = any(sum(v for k, v in c.items() if k != "rows") for c in changes.values())
            if changed:
                atlas_version_bump()
            SyncRun.objects.filter(id=run_id).update(
                status=SyncRun.COMPLETE, finished_at=timezone.now(), changes=changes, current_table=""
            )
            SyncStagedPage.objects.filter(run_id=run_id).delete()
            drop = sorted(gone | moved)
            transaction.on_commit(lambda: [filestore.well_known_file_path(pk).unlink(missing_ok=True) for pk in drop])
            progress("apply", steps, steps)
    except (IntegrityError, TableError) as exc:
        raise ApplyError(f"the upstream's records conflict with each other or with local rows: {exc}") from exc
    return changes, changed


HOLD_SECONDS = 60


def _hold_for_tests() -> None:
    """With CELLTYPES_MIRROR_APPLY_HOLD set (tests only): say so by creating that file, then wait, the transaction
    open and the row tables written, for the test to kill the process (going on after HOLD_SECONDS)."""
    hold = settings.CELLTYPES_MIRROR_APPLY_HOLD
    if not hold:
        return
    Path(hold).touch()
    deadline = time.monotonic() + HOLD_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)


def _ledger_release() -> None:
    """The mirror owns every row inside the scopes of the tables it syncs: the demo loader's ledger keeps only the
    rows it wrote outside them (a demo NWB specimen, an older tracing), which the next load may still delete. An
    entry with no keys is kept, not dropped (the loader would read a missing one as "all rows are mine")."""
    ledger = {entry.table: entry.keys for entry in LoadedRows.objects.all()}
    entries = []
    for table in ROW_TABLES:
        name = table.model._meta.db_table
        held = set(table.model.objects.values_list("pk", flat=True))
        outside = set(ledger.get(name, [])) & held - set(scoped_rows(table).values_list("pk", flat=True))
        entries.append(LoadedRows(table=name, keys=sorted(outside)))
    for link in LINK_TABLES:
        if isinstance(link, ManyLink):
            name = link.through._meta.db_table
            roots = scoped_rows(_root(link)).values("pk")
            first, second = (f.attname for f in link.through._meta.concrete_fields if not f.primary_key)
            held = set(link.through.objects.exclude(**{f"{first}__in": roots}).values_list(first, second))
            entries.append(LoadedRows(table=name, keys=sorted(p for p in ledger.get(name, []) if tuple(p) in held)))
    LoadedRows.objects.filter(table__in=[entry.table for entry in entries]).delete()
    LoadedRows.objects.bulk_create(entries)


def _staged(run_id: int, name: str) -> list[tuple[int, list[dict]]]:
    return list(SyncStagedPage.objects.filter(run_id=run_id, table=name).order_by("page").values_list("page", "rows"))


def _rows(run_id: int, table: RowTable) -> dict[object, dict]:
    """{primary key: values} of the staged records (checked when staged; duplicates are checked here)."""
    out: dict[object, dict] = {}
    pk = table.model._meta.pk.attname
    for page, records in _staged(run_id, table.name):
        for record in records:
            values = table.values(record)
            if values[pk] in out:
                raise ApplyError(f"{table.name} page {page}: id {values[pk]} is listed twice (the upstream changed)")
            out[values[pk]] = values
    return out


def _pairs(run_id: int, link) -> set[tuple[int, int]]:
    return {pair for _, records in _staged(run_id, link.name) for record in records for pair in link.pairs(record)}


def _references_check(incoming: dict[RowTable, dict]) -> None:
    """Every foreign key of an incoming row names a row the upstream lists (else the apply would half-fail)."""
    by_model = {table.model: table for table in incoming}
    for table, rows in incoming.items():
        served = {attribute.field for attribute in table.attributes.values()}
        for field in table.model._meta.concrete_fields:
            if not field.is_relation or field.attname not in served:
                continue
            target = by_model.get(field.related_model._meta.concrete_model)
            if target is None:
                continue
            known = incoming[target]
            for pk, values in rows.items():
                value = values[field.attname]
                if value is not None and value not in known:
                    raise ApplyError(
                        f"{table.name} {pk}: {field.attname} {value} is not among the {target.name} rows the "
                        "upstream lists"
                    )


def _unique_sets(model: type[dj.Model]) -> list[tuple[str, ...]]:
    sets = [(f.attname,) for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    sets += [
        tuple(model._meta.get_field(name).attname for name in constraint.fields)
        for constraint in model._meta.constraints
        if isinstance(constraint, dj.UniqueConstraint) and constraint.fields and constraint.condition is None
    ]
    return sets


def _lab_upload_refuse(table: RowTable, pks: set) -> None:
    if pks:
        raise ApplyError(
            f"the upstream's {table.name} {min(pks)} would replace a lab's own upload of the same id or unique value "
            "here (lab uploads are never overwritten nor retired by a mirror: remove or re-import it first)"
        )


def _root(link: ManyLink) -> RowTable:
    return next(table for table in ROW_TABLES if table.rma_model == link.rma_model)


def _collisions_park(table: RowTable, rows: dict[object, dict], ours: set) -> None:
    """Move local rows out of the way of an incoming row that takes their unique value (a name, a sweep number):
    such a row is either retired at the end or given its own upstream values by the upsert (a lab upload's row:
    ApplyError)."""
    model = table.model
    for unique in _unique_sets(model):
        wanted = {tuple(values[name] for name in unique): pk for pk, values in rows.items()}
        local = model.objects.values_list("pk", *unique)
        colliding = [pk for pk, *key in local if wanted.get(tuple(key), pk) != pk]
        _lab_upload_refuse(table, ours & set(colliding))
        for number, pk in enumerate(colliding, start=1):
            parked = {}
            for name in unique:
                field = model._meta.get_field(name)
                if field.null:
                    parked[name] = None
                elif isinstance(field, dj.CharField | dj.TextField):
                    parked[name] = f"~mirror-retiring-{pk}"
                elif isinstance(field, dj.IntegerField) and not field.is_relation:
                    parked[name] = -number
                else:  # a required one-to-one: nothing refers to such a row (EphysFeature), it can go now
                    model.objects.filter(pk=pk).delete()
                    parked = {}
                    break
            if parked:
                model.objects.filter(pk=pk).update(**parked)


def _table_upsert(table: RowTable, rows: dict[object, dict], ours: set) -> dict[str, int]:
    """Write the new and changed rows; `ours`: the keys of the table's lab-upload rows (never overwritten)."""
    model = table.model
    _lab_upload_refuse(table, ours & rows.keys())
    _collisions_park(table, rows, ours)
    names = [attribute.field for attribute in table.attributes.values()]
    names += [name for name in next(iter(rows.values()), {}) if name not in names]  # the file owners
    pk = model._meta.pk.attname
    at = names.index(pk)
    local = {values[at]: values for values in model.objects.values_list(*names)}
    new, changed = [], []
    for key, values in rows.items():
        row = tuple(values[name] for name in names)
        held = local.get(key)
        if held is None:
            new.append(row)
        elif row != held:
            changed.append(row)
    _rows_write(model, names, new, changed)
    return {"rows": len(rows), "new": len(new), "changed": len(changed), "retired": 0}


def _rows_write(model: type[dj.Model], names: list[str], new: list[tuple], changed: list[tuple]) -> None:
    """INSERT the new rows and UPDATE the changed ones, many at a time (the ORM's bulk paths spend ~10x longer
    compiling the same statements). Numbers, text and booleans (mirror_tables checks them) go to the driver as they
    are, other values (dates) through the field's own preparation; columns not named keep their value (new: NULL)."""
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    prepared = [i for i, field in enumerate(fields) if isinstance(field, dj.DateTimeField | dj.DateField)]
    if prepared:
        new, changed = ([_prepared(row, fields, prepared) for row in rows] for rows in (new, changed))
    columns = [quote(field.column) for field in fields]
    table = quote(model._meta.db_table)
    pk = model._meta.pk
    at = names.index(pk.attname)
    with connection.cursor() as cursor:
        if new:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", new)
        if changed:
            assignments = ", ".join(f"{column} = %s" for index, column in enumerate(columns) if index != at)
            rows = [(*row[:at], *row[at + 1 :], row[at]) for row in changed]
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {quote(pk.column)} = %s", rows)


def _prepared(row: tuple, fields: list, indexes: list[int]) -> tuple:
    values = list(row)
    for index in indexes:
        values[index] = fields[index].get_db_prep_save(values[index], connection)
    return tuple(values)


def _file_contents_changed(files_before: dict[int, tuple], incoming: dict[RowTable, dict]) -> set[int]:
    """Files whose path or type changed: their held bytes are another content; forget their size and sha256."""
    files = next(rows for table, rows in incoming.items() if table.model is WellKnownFile)
    moved = {
        pk
        for pk, before in files_before.items()
        if pk in files and (files[pk]["path"], files[pk]["well_known_file_type_id"]) != before
    }
    WellKnownFile.objects.filter(pk__in=moved).update(size=None, sha256=None)
    return moved


def _many_link_set(link: ManyLink, pairs: set[tuple[int, int]], root: RowTable) -> dict[str, int]:
    """The links of the roots inside the root table's scope set to exactly the upstream's pairs; those of a root
    outside it (a lab upload, a row the scope leaves out) left alone."""
    first, second = (f.attname for f in link.through._meta.concrete_fields if not f.primary_key)
    scoped = set(scoped_rows(root).values_list("pk", flat=True)) | {a for a, _ in pairs}
    held = {pair for pair in link.through.objects.values_list(first, second) if pair[0] in scoped}
    stale, new = held - pairs, pairs - held
    by_first: dict[int, list[int]] = defaultdict(list)
    for a, b in stale:
        by_first[a].append(b)
    for a, bs in by_first.items():
        link.through.objects.filter(**{first: a, f"{second}__in": bs}).delete()
    link.through.objects.bulk_create([link.through(**{first: a, second: b}) for a, b in sorted(new)], batch_size=1000)
    return {"rows": len(pairs), "new": len(new), "changed": 0, "retired": len(stale)}


def _file_owners_add(links: dict, incoming: dict[RowTable, dict]) -> None:
    """Each incoming file's owner columns as the owners' lists say (one owner per file; none when none lists it)."""
    files = next(rows for table, rows in incoming.items() if table.model is WellKnownFile)
    # A local owner outside its table's scope (a demo NWB specimen's ephys result) is not listed by the upstream:
    # its files keep it. Every other owner column is the upstream's (none when no owner lists the file).
    kept = {}
    for link in LINK_TABLES:
        if isinstance(link, FileOwners):
            root = next(table for table in ROW_TABLES if table.rma_model == link.rma_model)
            outside = root.model.objects.exclude(pk__in=scoped_rows(root).values("pk")).values("pk")
            owned = WellKnownFile.objects.filter(pk__in=files, **{f"{link.owner_field}__in": outside})
            for pk, owner in owned.values_list("pk", link.owner_field):
                kept.setdefault(pk, {})[link.owner_field] = owner
    for pk, values in files.items():
        values.update(dict.fromkeys(OWNER_FIELDS), **kept.get(pk, {}))
    claimed: dict[int, str] = {}
    owners = {table.name: rows for table, rows in incoming.items()}
    for link, pairs in links.items():
        if not isinstance(link, FileOwners):
            continue
        for owner_id, file_id in pairs:
            if owner_id not in owners[link.rma_model]:
                raise ApplyError(f"{link.name}: {link.rma_model} {owner_id} is not among the {link.rma_model} rows "
                                 "the upstream lists")  # fmt: skip
            if file_id not in files:
                raise ApplyError(f"{link.name}: {link.rma_model} {owner_id} lists well-known file {file_id}, which "
                                 "the upstream's WellKnownFile table does not")  # fmt: skip
            if file_id in claimed:
                raise ApplyError(f"well-known file {file_id} is listed by both {claimed[file_id]} and "
                                 f"{link.rma_model} {owner_id}")  # fmt: skip
            claimed[file_id] = f"{link.rma_model} {owner_id}"
            files[file_id].update(dict.fromkeys(OWNER_FIELDS), **{link.owner_field: owner_id})  # one owner
