"""Compare every table the site and the AllenSDK use between two SQLite databases, row by row by primary key.

In scope: the table of every model the RMA API serves (`celltypes.rma.schema.MODELS`, so a model added there is
compared without a change here) and their many-to-many link tables, compared by the linked pair (the link row's
own id is a local counter); in each, the rows inside the mirror's scope for that table (`scope_sql`: the Cell Types
rows, current reconstructions only, no lab upload), the one definition the mirror itself pages and retires by.

Out of scope (`EXCLUDED`): what one instance derives, caches or keeps for its own bookkeeping, and the columns of
Allen's tables that say what the local file store holds (`LOCAL_ONLY_COLUMNS`); everything outside the atlas app
(Django's auth/sessions/admin, Celery results, sync checkpoints and staging). `unclassified_atlas_tables()` names an
atlas table that is neither, so a new model forces a decision.

Plain sqlite3 over the two files (the test database and the upstream instance's), Django only for the table list.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

# What one instance computes or keeps for itself: never one of Allen's records, so never synced.
EXCLUDED: dict[str, str] = {
    "computed_morphologies": "features we compute from a held SWC (a cache, rebuilt on demand)",
    "held_trace_windows": "windows of sweeps held outside any NWB in the bundled demo folder; not Allen's, not served",
    "minted_ids": "the demo loader's registry of ids it minted (bookkeeping)",
    "loaded_rows": "the demo loader's ledger of the rows it wrote (bookkeeping)",
    "atlas_version": "a counter that keys caches; goes up on every write, differs by history",
    "lab_recordings": "a lab's own NWB uploads, never Allen's: not served, never synced, never retired by a mirror",
}
# Columns of Allen's tables that record what the local file store holds (files are fetched lazily, per instance).
LOCAL_ONLY_COLUMNS: dict[str, frozenset[str]] = {
    "well_known_files": frozenset({"size", "sha256"}),
    "ephys_sweeps": frozenset({"sampling_rate"}),  # read from the NWB file when this instance holds it
}


def scope_sql() -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """({table: WHERE of its rows in scope}, {(table, column): the column in scope}) from the mirror's own scopes
    (celltypes.sync.mirror_tables: each table's RMA criteria, as our RMA engine answers it), as SQL for the two
    files: a row outside its table's scope (an older tracing, a demo NWB specimen the loader made, a lab upload)
    stays with the instance that holds it; a file's owner outside its scope counts as no owner."""
    from celltypes.sync.mirror_tables import LINK_TABLES, ROW_TABLES, FileOwners, ManyLink, scoped_rows

    rows, columns = {}, {}
    selected = {table.rma_model: _sql(scoped_rows(table).order_by().values("pk")) for table in ROW_TABLES}
    for table in ROW_TABLES:
        rows[table.model._meta.db_table] = f"{_quoted(table.model._meta.pk.column)} IN ({selected[table.rma_model]})"
    for link in LINK_TABLES:
        if isinstance(link, ManyLink):
            root = next(f.column for f in link.through._meta.concrete_fields if not f.primary_key)
            rows[link.through._meta.db_table] = f"{_quoted(root)} IN ({selected[link.rma_model]})"
        elif isinstance(link, FileOwners):
            column = _quoted(link.owner_field)
            columns["well_known_files", link.owner_field] = (
                f"CASE WHEN {column} IN ({selected[link.rma_model]}) THEN {column} ELSE NULL END"
            )
    return rows, columns


def _sql(queryset) -> str:
    """The queryset's SQL with its parameters written in (numbers, booleans, text: all the scopes use)."""
    sql, params = queryset.query.sql_with_params()
    literals = []
    for value in params:
        if isinstance(value, bool):
            literals.append("1" if value else "0")
        elif isinstance(value, int | float):
            literals.append(repr(value))
        elif isinstance(value, str):
            literals.append("'" + value.replace("'", "''") + "'")
        else:
            raise TypeError(f"a scope parameter of an unexpected kind: {value!r}")
    return sql % tuple(literals)


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]  # compared, the key first
    where: str = ""
    in_scope: tuple[tuple[str, str], ...] = ()  # (column, its expression in scope)

    def select(self) -> str:
        where = f" WHERE {self.where}" if self.where else ""
        scoped = dict(self.in_scope)
        columns = ", ".join(f"{scoped[c]} AS {_quoted(c)}" if c in scoped else _quoted(c) for c in self.columns)
        return f"SELECT {columns} FROM {_quoted(self.name)}{where}"


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple
    column: str | None  # None: the whole row is on one side only
    ours: object
    theirs: object

    def __str__(self) -> str:
        key = ", ".join(map(str, self.key))
        if self.column is None:
            side = "ours only" if self.theirs is None else "theirs only"
            return f"{self.table} [{key}]: row on {side}"
        return f"{self.table} [{key}] {self.column}: ours {self.ours!r} vs theirs {self.theirs!r}"


def mirrored_tables() -> list[Table]:
    """The tables in scope, in a stable order (needs Django set up)."""
    from celltypes.rma.schema import MODELS

    rows_in_scope, columns_in_scope = scope_sql()
    tables: dict[str, Table] = {}
    for model in MODELS.values():
        concrete = model._meta.concrete_model
        name = concrete._meta.db_table
        local = LOCAL_ONLY_COLUMNS.get(name, frozenset())
        pk = concrete._meta.pk.column
        columns = [f.column for f in concrete._meta.concrete_fields if f.column not in local and f.column != pk]
        in_scope = tuple((c, sql) for (table, c), sql in columns_in_scope.items() if table == name)
        tables[name] = Table(name, (pk,), (pk, *columns), rows_in_scope.get(name, ""), in_scope)
        for m2m in concrete._meta.local_many_to_many:
            through = m2m.remote_field.through._meta
            pair = (m2m.m2m_column_name(), m2m.m2m_reverse_name())
            tables[through.db_table] = Table(through.db_table, pair, pair, rows_in_scope.get(through.db_table, ""))
    return [tables[name] for name in sorted(tables)]


def unclassified_atlas_tables() -> list[str]:
    """Atlas tables neither compared nor excluded (needs Django set up)."""
    from django.apps import apps

    known = {t.name for t in mirrored_tables()} | set(EXCLUDED)
    names = set()
    for model in apps.get_app_config("atlas").get_models(include_auto_created=True):
        if not model._meta.proxy and model._meta.managed:
            names.add(model._meta.db_table)
    return sorted(names - known)


def compare_databases(ours: Path, theirs: Path, tables: Sequence[Table] | None = None) -> list[Difference]:
    """Every difference between the two databases over `tables` (default: mirrored_tables())."""
    tables = mirrored_tables() if tables is None else tables
    with closing(_open(ours)) as ours_db, closing(_open(theirs)) as theirs_db:
        return [d for table in tables for d in compare_table(table, _rows(ours_db, table), _rows(theirs_db, table))]


def compare_table(table: Table, ours: dict[tuple, tuple], theirs: dict[tuple, tuple]) -> Iterable[Difference]:
    width = len(table.key)
    for key in sorted(ours.keys() | theirs.keys(), key=_sort_key):
        mine, other = ours.get(key), theirs.get(key)
        if mine is None or other is None:
            yield Difference(table.name, key, None, mine, other)
            continue
        for column, a, b in zip(table.columns[width:], mine[width:], other[width:], strict=True):
            if not _same(a, b):
                yield Difference(table.name, key, column, a, b)


def row_counts(db: Path, tables: Sequence[Table] | None = None) -> dict[str, int]:
    """Rows in scope per table."""
    tables = mirrored_tables() if tables is None else tables
    with closing(_open(db)) as connection:
        return {t.name: connection.execute(f"SELECT COUNT(*) FROM ({t.select()})").fetchone()[0] for t in tables}


def report(differences: Sequence[Difference], limit: int = 40) -> str:
    """A readable summary: counts per table, then the first `limit` differences."""
    if not differences:
        return "no differences"
    per_table: dict[str, int] = {}
    for d in differences:
        per_table[d.table] = per_table.get(d.table, 0) + 1
    lines = [f"{len(differences)} differences: " + ", ".join(f"{t} {n}" for t, n in per_table.items())]
    lines += [f"  {d}" for d in differences[:limit]]
    if len(differences) > limit:
        lines.append(f"  ... and {len(differences) - limit} more")
    return "\n".join(lines)


def _open(path: Path) -> sqlite3.Connection:
    if not Path(path).exists():
        raise FileNotFoundError(f"no database at {path}")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def _rows(connection: sqlite3.Connection, table: Table) -> dict[tuple, tuple]:
    width = len(table.key)
    return {row[:width]: row for row in connection.execute(table.select())}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b  # sqlite3 gives int, float, str, bytes or None; 1 == 1.0 (an integral REAL) is the same value


def _sort_key(key: tuple) -> tuple:
    return tuple((0, v) if isinstance(v, int | float) else (1, str(v)) for v in key)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
