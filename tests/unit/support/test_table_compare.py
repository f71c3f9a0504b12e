"""The table comparison: what is in scope, and the differences it finds between two (synthetic) SQLite files."""

import sqlite3
from contextlib import closing

import pytest

from celltypes.rma.schema import HIDDEN_FIELDS, MODELS
from tests.support.table_compare import (
    EXCLUDED,
    LOCAL_ONLY_COLUMNS,
    Difference,
    Table,
    compare_databases,
    mirrored_tables,
    report,
    row_counts,
    unclassified_atlas_tables,
)

SPECIMENS = Table("specimens", ("id",), ("id", "name", "hemisphere"))
TAGS = Table("specimens_specimen_tags", ("specimen_id", "specimentag_id"), ("specimen_id", "specimentag_id"))


def test_every_atlas_table_is_compared_or_excluded_with_a_reason():
    assert unclassified_atlas_tables() == []
    names = {t.name for t in mirrored_tables()}
    assert not names & set(EXCLUDED)
    assert {"specimens", "well_known_files", "ephys_sweeps", "specimens_specimen_tags", "donors_transgenic_lines"} <= (
        names
    )
    assert len(names) == len({m._meta.db_table for m in MODELS.values()}) + 3  # + the three link tables


def test_only_our_file_store_columns_are_left_out():
    hidden_columns = {
        m._meta.db_table: {m._meta.get_field(f.removesuffix("_id")).column for f in h} for m, h in HIDDEN_FIELDS.items()
    }
    for table, columns in LOCAL_ONLY_COLUMNS.items():
        assert columns <= hidden_columns[table]
    files = next(t for t in mirrored_tables() if t.name == "well_known_files")
    assert "size" not in files.columns and "neuronal_model_id" in files.columns and "attachable_id" in files.columns
    reconstructions = next(t for t in mirrored_tables() if t.name == "neuron_reconstructions")
    assert 'NOT "neuron_reconstructions"."superseded"' in reconstructions.where  # the current ones only


def synthetic_db(path, specimens, tags):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE specimens (id INTEGER PRIMARY KEY, name TEXT, hemisphere TEXT)")
        db.execute("CREATE TABLE specimens_specimen_tags (id INTEGER PRIMARY KEY, specimen_id INT, specimentag_id INT)")
        db.executemany("INSERT INTO specimens VALUES (?, ?, ?)", specimens)
        db.executemany("INSERT INTO specimens_specimen_tags (specimen_id, specimentag_id) VALUES (?, ?)", tags)
    return path


def test_equal_databases_have_no_differences(tmp_path):
    rows, tags = [(1, "a", "left"), (2, "b", None)], [(1, 7), (2, 8)]
    ours = synthetic_db(tmp_path / "ours.sqlite3", rows, tags)
    theirs = synthetic_db(tmp_path / "theirs.sqlite3", rows, list(reversed(tags)))  # other link ids, same pairs
    assert compare_databases(ours, theirs, [SPECIMENS, TAGS]) == []
    assert row_counts(ours, [SPECIMENS, TAGS]) == {"specimens": 2, "specimens_specimen_tags": 2}


def test_differences_name_table_key_column_and_both_values(tmp_path):
    ours = synthetic_db(tmp_path / "ours.sqlite3", [(1, "a", "left"), (2, "b", None), (3, "c", None)], [(1, 7)])
    theirs = synthetic_db(tmp_path / "theirs.sqlite3", [(1, "a", "right"), (2, "b", None), (4, "d", None)], [(1, 8)])
    found = compare_databases(ours, theirs, [SPECIMENS, TAGS])
    assert found == [
        Difference("specimens", (1,), "hemisphere", "left", "right"),
        Difference("specimens", (3,), None, (3, "c", None), None),
        Difference("specimens", (4,), None, None, (4, "d", None)),
        Difference("specimens_specimen_tags", (1, 7), None, (1, 7), None),
        Difference("specimens_specimen_tags", (1, 8), None, None, (1, 8)),
    ]
    text = report(found, limit=2)
    assert text.splitlines()[0] == "5 differences: specimens 3, specimens_specimen_tags 2"
    assert "specimens [1] hemisphere: ours 'left' vs theirs 'right'" in text
    assert "specimens [3]: row on ours only" in text
    assert text.endswith("... and 3 more")


def test_a_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no database at"):
        compare_databases(tmp_path / "none.sqlite3", tmp_path / "none.sqlite3", [SPECIMENS])


def scoped_db(path, specimens, lab=(), reconstructions=(), files=(), tags=()):
    """A SYNTHETIC database with the columns the mirror's scopes read: specimens 1.. of the Mouse Cell Types
    product unless they are lab uploads (`lab`), reconstructions (id, superseded, specimen), files (id, attachable
    id, reconstruction)."""
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE specimens (id INTEGER PRIMARY KEY, name TEXT, hemisphere TEXT, is_cell_specimen BOOL)")
        db.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("CREATE TABLE specimens_products (id INTEGER PRIMARY KEY, specimen_id INT, product_id INT)")
        db.execute("CREATE TABLE specimens_specimen_tags (id INTEGER PRIMARY KEY, specimen_id INT, specimentag_id INT)")
        db.execute("CREATE TABLE lab_recordings (specimen_id INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE neuron_reconstructions (id INTEGER PRIMARY KEY, superseded BOOL, specimen_id INT)")
        db.execute(
            "CREATE TABLE well_known_files (id INTEGER PRIMARY KEY, attachable_id INT, neuron_reconstruction_id INT, "
            "attachable_type TEXT DEFAULT 'NeuronReconstruction')"
        )
        db.execute("INSERT INTO products VALUES (5, 'Mouse Cell Types')")
        db.executemany("INSERT INTO specimens VALUES (?, ?, NULL, 1)", specimens)
        db.executemany("INSERT INTO specimens_products (specimen_id, product_id) VALUES (?, 5)",
                       [(pk,) for pk, _ in specimens if pk not in lab])  # fmt: skip
        db.executemany("INSERT INTO lab_recordings VALUES (?)", [(pk,) for pk in lab])
        db.executemany("INSERT INTO neuron_reconstructions VALUES (?, ?, ?)", reconstructions)
        db.executemany(
            "INSERT INTO well_known_files (id, attachable_id, neuron_reconstruction_id) VALUES (?, ?, ?)", files
        )
        db.executemany("INSERT INTO specimens_specimen_tags (specimen_id, specimentag_id) VALUES (?, ?)", tags)
    return path


def in_scope(name: str, columns: tuple[str, ...]) -> Table:
    """The mirror's scope of table `name` over a few of its columns."""
    table = next(t for t in mirrored_tables() if t.name == name)
    return Table(name, table.key, columns, table.where, tuple(c for c in table.in_scope if c[0] in columns))


def test_a_file_owned_by_an_older_tracing_counts_as_unowned(tmp_path):
    """Synthetic rows: reconstruction 2 is superseded; the file records differ only in the link to it."""
    files = in_scope("well_known_files", ("id", "attachable_id", "neuron_reconstruction_id"))
    for name, owner in (("ours", None), ("theirs", 2)):
        scoped_db(
            tmp_path / name, [(1, "a")], reconstructions=[(1, 0, 1), (2, 1, 1)], files=[(10, 1, 1), (11, 2, owner)]
        )
    assert compare_databases(tmp_path / "ours", tmp_path / "theirs", [files]) == []
    with closing(sqlite3.connect(tmp_path / "ours")) as db, db:
        db.execute("UPDATE well_known_files SET neuron_reconstruction_id = NULL WHERE id = 10")
    assert compare_databases(tmp_path / "ours", tmp_path / "theirs", [files]) == [
        Difference("well_known_files", (10,), "neuron_reconstruction_id", None, 1)
    ]


def test_a_lab_upload_and_a_specimen_outside_the_cell_types_scope_are_left_out(tmp_path):
    assert "lab_recordings" in EXCLUDED and "lab" in EXCLUDED["lab_recordings"]
    tables = [in_scope("specimens", ("id", "name")), in_scope(TAGS.name, TAGS.columns)]
    ours = scoped_db(tmp_path / "ours", [(1, "a"), (9, "synthetic lab cell")], lab=[9], tags=[(1, 7), (9, 7)])
    theirs = scoped_db(tmp_path / "theirs", [(1, "a")], tags=[(1, 7)])
    assert compare_databases(ours, theirs, tables) == []
    assert len(compare_databases(ours, theirs, [SPECIMENS, TAGS])) == 2  # the lab's rows, when not left out
    with closing(sqlite3.connect(theirs)) as db, db:  # a specimen of no Cell Types product: outside the scope
        db.execute("INSERT INTO specimens VALUES (3, 'a demo NWB specimen', NULL, 1)")
    assert compare_databases(ours, theirs, tables) == []
