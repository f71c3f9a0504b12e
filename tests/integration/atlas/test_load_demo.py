"""load_demo is idempotent, atomic, and reads Allen tables by column name."""

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from celltypes.atlas import filestore
from celltypes.atlas.models import (
    ApiCellTypesSpecimenDetail,
    EphysSweep,
    LoadedRows,
    MintedId,
    NeuronReconstruction,
    Specimen,
    SpecimenTag,
    Structure,
    WellKnownFile,
)
from celltypes.atlas.services.loading import (
    DEMO_DIR,
    EPHYS_FEATURE_TABLE,
    LINK_TABLES,
    LOADED_MODELS,
    SPECIMEN_TABLE,
    TABLE_RECONSTRUCTION_COLUMNS,
    demo_load,
)
from celltypes.atlas.services.minted_ids import COLLISION_BASE, LOCAL_ID_BASE, IdMinter, MintedIdError
from celltypes.atlas.tables import TableError

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("atlas").get_models()}


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A private copy of the demo folder that a test may corrupt."""
    target = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, target)
    return target


def _rewrite(path: Path, edit) -> None:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows = edit(rows)
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def test_a_second_load_changes_nothing():
    before = _row_counts()
    detail_before = list(ApiCellTypesSpecimenDetail.objects.order_by("specimen_id").values_list())
    demo_load()
    assert _row_counts() == before
    assert list(ApiCellTypesSpecimenDetail.objects.order_by("specimen_id").values_list()) == detail_before


def test_a_corrupted_csv_row_rolls_back_everything_and_names_file_and_line(demo_copy: Path):
    Specimen.objects.filter(id=313862022).update(name="renamed before the failing load")
    ApiCellTypesSpecimenDetail.objects.filter(specimen_id=313862022).delete()
    before = _row_counts()

    def corrupt(rows):
        header = rows[0]
        rows[1200][header.index("csl__x")] = "not-a-number"  # file line 1201
        return rows

    _rewrite(demo_copy / SPECIMEN_TABLE, corrupt)
    with pytest.raises(TableError, match=r"cell_types_specimen_details\.csv, line 1201, column 'csl__x'"):
        demo_load(demo_dir=demo_copy)
    assert _row_counts() == before
    assert Specimen.objects.get(id=313862022).name == "renamed before the failing load"
    assert not ApiCellTypesSpecimenDetail.objects.filter(specimen_id=313862022).exists()


def test_the_command_reports_the_error_without_a_traceback(demo_copy: Path):
    _rewrite(demo_copy / SPECIMEN_TABLE, lambda rows: rows[:10] + [rows[10][:5]] + rows[11:])
    with pytest.raises(CommandError, match=r"nothing was changed.*line 11: expected 54 fields, found 5"):
        call_command("load_demo", demo_dir=demo_copy)


def test_columns_in_another_order_with_a_differently_named_id_load_the_same(demo_copy: Path):
    def shuffle(rows):
        header = rows[0]
        order = sorted(range(len(header)), key=lambda i: header[i][::-1])
        rows = [[row[i] for i in order] for row in rows]
        rows[0] = ["specimen_id" if name == "specimen__id" else name for name in rows[0]]
        return rows

    _rewrite(demo_copy / SPECIMEN_TABLE, shuffle)
    before = _row_counts()
    detail_before = ApiCellTypesSpecimenDetail.objects.get(specimen_id=313862022)
    demo_load(demo_dir=demo_copy)
    assert _row_counts() == before
    after = ApiCellTypesSpecimenDetail.objects.get(specimen_id=313862022)
    assert [getattr(after, f.attname) for f in after._meta.fields] == [
        getattr(detail_before, f.attname) for f in after._meta.fields
    ]


def test_a_missing_required_column_is_named(demo_copy: Path):
    def drop(rows):
        index = rows[0].index("donor__species")
        return [row[:index] + row[index + 1 :] for row in rows]

    _rewrite(demo_copy / SPECIMEN_TABLE, drop)
    with pytest.raises(TableError, match=r"missing column 'donor__species'"):
        demo_load(demo_dir=demo_copy)


def test_a_missing_optional_column_loads_as_null(demo_copy: Path):
    def drop(rows):
        index = rows[0].index("ef__tau")
        return [row[:index] + row[index + 1 :] for row in rows]

    _rewrite(demo_copy / SPECIMEN_TABLE, drop)
    demo_load(demo_dir=demo_copy)
    assert ApiCellTypesSpecimenDetail.objects.filter(ef_tau__isnull=False).count() == 0


def _edit_cell(rows: list[list[str]], specimen_id: int, **values: str) -> list[list[str]]:
    header = rows[0]
    row = next(r for r in rows if r[header.index("specimen__id")] == str(specimen_id))
    for column, value in values.items():
        row[header.index(column)] = value
    return rows


def test_a_record_agreeing_on_only_some_values_is_not_taken_as_current_and_the_report_says_so(demo_copy: Path):
    # Specimen 528706755's current record 722014861 is found by its values (the table names 722014887); move one
    # of the five by 1e-6 and no published record is the current one any more.
    _rewrite(
        demo_copy / SPECIMEN_TABLE,
        lambda rows: _edit_cell(rows, 528706755, nr__average_contraction="0.8871"),
    )
    report, _ = demo_load(demo_dir=demo_copy)
    current = NeuronReconstruction.objects.get(specimen_id=528706755, superseded=False)
    assert (current.id, current.average_contraction, current.number_nodes) == (722014887, 0.8871, None)
    assert NeuronReconstruction.objects.get(id=722014861).superseded
    assert (
        "specimen 528706755: no published record is reconstruction 722014887 or agrees with the cell table's type "
        "and five nr__ values; the cell table's values were kept" in report.warnings
    )


def test_rows_that_cannot_be_used_are_reported_by_the_command(demo_copy: Path):
    # Specimen 313862022: reconstruction values but no reconstruction type.
    _rewrite(demo_copy / SPECIMEN_TABLE, lambda rows: _edit_cell(rows, 313862022, nr__reconstruction_type=""))
    stderr = io.StringIO()
    call_command("load_demo", demo_dir=demo_copy, stdout=io.StringIO(), stderr=stderr)
    warnings = stderr.getvalue().splitlines()
    line = next(i for i, r in enumerate(csv.reader((demo_copy / SPECIMEN_TABLE).open())) if "313862022" in r) + 1
    assert (
        f"warning: cell_types_specimen_details.csv, line {line}, column 'nr__reconstruction_type': specimen "
        "313862022 has reconstruction values but no reconstruction type; its reconstruction was not loaded"
    ) in warnings
    assert not NeuronReconstruction.objects.filter(specimen_id=313862022).exists()
    # Specimen 555341581 has no reconstruction in the cell table, but the merged features table has a record.
    assert (
        "warning: all_features.csv, line 574, column 'id': reconstruction 570682715 of specimen 555341581, which "
        "the cell table lists without a reconstruction; skipped"
    ) in warnings


def test_a_cell_table_without_a_cell_loads_and_names_its_skipped_ephys_features(demo_copy: Path):
    # An older or partial cell table: specimen 313862022's row is gone, its EphysFeature row 473465352 is not.
    def drop(rows):
        index = rows[0].index("specimen__id")
        return [row for row in rows if row[index] != "313862022"]

    _rewrite(demo_copy / SPECIMEN_TABLE, drop)
    report, _ = demo_load(demo_dir=demo_copy)
    line = next(i for i, r in enumerate(csv.reader((demo_copy / EPHYS_FEATURE_TABLE).open())) if "313862022" in r) + 1
    assert (
        f"ephys_features.csv, line {line}, column 'specimen_id': EphysFeature 473465352 of specimen 313862022, "
        "which is not in the cell table; skipped" in report.warnings
    )


# Synthetic tag values whose keys "tag:dendrite type - spiny 893238" and "tag:dendrite type - spiny 8260004" share
# the crc32 2280018751: minted as LOCAL_ID_BASE + crc32, both tags used to get one id, the second overwriting the first.
COLLIDING_TAGS = ("spiny 893238", "spiny 8260004")


def test_keys_whose_crc32_collide_get_ids_of_their_own_and_keep_them(demo_copy: Path):
    _rewrite(
        demo_copy / SPECIMEN_TABLE,
        lambda rows: _edit_cell(
            _edit_cell(rows, 313862022, tag__dendrite_type=COLLIDING_TAGS[0]),
            485909730,
            tag__dendrite_type=COLLIDING_TAGS[1],
        ),
    )

    def tags() -> dict[str, int]:
        return dict(SpecimenTag.objects.filter(name__startswith="dendrite type - spiny ").values_list("name", "id"))

    demo_load(demo_dir=demo_copy)
    first = tags()
    assert sorted(first) == [f"dendrite type - {value}" for value in sorted(COLLIDING_TAGS)]
    assert sorted(first.values()) == [LOCAL_ID_BASE + 2280018751, COLLISION_BASE]
    assert Specimen.objects.get(id=313862022).specimen_tags.filter(id__in=first.values()).get().name.endswith("893238")
    assert Specimen.objects.get(id=485909730).specimen_tags.filter(id__in=first.values()).get().name.endswith("8260004")
    demo_load(demo_dir=demo_copy)
    assert tags() == first


def test_an_id_registered_meanwhile_by_another_key_fails_loudly():
    minter = IdMinter()
    pk = minter("tag", "dendrite type - synthetic")
    MintedId.objects.create(id=pk, kind="tag", key="another key")
    with pytest.raises(MintedIdError, match="already registered"):
        minter.save()


GLIF_DIR = "OpenSourceBrain_AllenInstituteNeuroML/CellTypesDatabase/models/GLIF"


def _loaded_tables() -> dict[str, list[tuple]]:
    """Every row load_demo writes, table by table (link tables without their own ids)."""
    tables = {model._meta.db_table: list(model.objects.order_by("pk").values_list()) for model in LOADED_MODELS}
    for through in LINK_TABLES:
        columns = [f.attname for f in through._meta.concrete_fields if not f.primary_key]
        tables[through._meta.db_table] = sorted(through.objects.values_list(*columns))
    return tables


def _wipe_loaded_tables() -> None:
    """An empty atlas, as before a first load (the registry of minted ids stays, as ids stay)."""
    Structure.objects.update(parent=None)
    for model in reversed(LOADED_MODELS):
        model.objects.all().delete()
    LoadedRows.objects.all().delete()


def test_loading_a_changed_snapshot_over_an_older_one_equals_a_fresh_load_of_it(demo_copy: Path):
    def edit(rows):
        rows = _edit_cell(rows, 313862022, tag__apical="truncated", nrwkf__id="", nr__reconstruction_type="")
        rows = _edit_cell(rows, 313862022, **{f"nr__{name}": "" for name in TABLE_RECONSTRUCTION_COLUMNS})
        # 476086391's older tracing 492413624 (SWC 492413626) becomes the current one.
        rows = _edit_cell(
            rows,
            476086391,
            nrwkf__id="492413626",
            nr__reconstruction_type="dendrite-only",
            nr__average_contraction="0.8940342045616699",
            nr__average_parent_daughter_ratio="0.8597451173530379",
            line_name="Synthetic-Cre",
        )
        index = rows[0].index("specimen__id")
        return [row for row in rows if row[index] != "485909730"]

    _rewrite(demo_copy / SPECIMEN_TABLE, edit)
    # Sweep 112 of specimen 470098860 (in two GLIF bundles) gets another, synthetic, id.
    for model_id in (472451425, 566302725):
        path = demo_copy / GLIF_DIR / str(model_id) / "ephys_sweeps.json"
        sweeps = json.loads(path.read_text())
        next(s for s in sweeps if s["sweep_number"] == 112)["id"] = 1
        path.write_text(json.dumps(sweeps))
    demo_load(demo_dir=demo_copy)
    after_update = _loaded_tables()
    assert EphysSweep.objects.get(specimen_id=470098860, sweep_number=112).id == 1
    tags = set(Specimen.objects.get(id=313862022).specimen_tags.values_list("name", flat=True))
    assert tags == {"dendrite type - spiny", "apical - truncated"}
    assert not NeuronReconstruction.objects.filter(specimen_id=313862022).exists()
    assert NeuronReconstruction.objects.get(specimen_id=476086391, superseded=False).id == 492413624
    assert not WellKnownFile.objects.filter(id=706190755).exists()
    assert not Specimen.objects.filter(id=485909730).exists()

    _wipe_loaded_tables()
    demo_load(demo_dir=demo_copy)
    fresh = _loaded_tables()
    assert after_update.keys() == fresh.keys()
    for table, rows in fresh.items():
        assert after_update[table] == rows, table


def _last_reconstructed_line(rows: list[list[str]]) -> int:
    index = rows[0].index("nr__reconstruction_type")
    return max(line for line, row in enumerate(rows, start=1) if line > 1 and row[index])


def test_an_integer_too_large_for_its_column_is_named_by_file_line_and_column(demo_copy: Path):
    rows = list(csv.reader((demo_copy / SPECIMEN_TABLE).open(newline="")))
    line = _last_reconstructed_line(rows)
    rows[line - 1][rows[0].index("nr__number_stems")] = "1e20"
    _rewrite(demo_copy / SPECIMEN_TABLE, lambda _: rows)
    where = rf"cell_types_specimen_details\.csv, line {line}, column 'nr__number_stems'"
    with pytest.raises(CommandError, match=rf"nothing was changed: {where}: expected an integer from .* got '1e20'"):
        call_command("load_demo", demo_dir=demo_copy)


def test_a_sweep_number_too_large_is_named_by_file_and_record(demo_copy: Path):
    path = demo_copy / GLIF_DIR / "472451425" / "ephys_sweeps.json"
    sweeps = json.loads(path.read_text())
    sweeps[3]["sweep_number"] = 10**20
    path.write_text(json.dumps(sweeps))
    with pytest.raises(TableError, match=r"472451425/ephys_sweeps.json: record 3: 'sweep_number' is not a valid"):
        demo_load(demo_dir=demo_copy)


@pytest.fixture
def empty_store(settings, tmp_path: Path) -> Path:
    settings.CELLTYPES_DATA_DIR = tmp_path / "store"
    return settings.CELLTYPES_DATA_DIR


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_a_load_failing_on_a_late_bad_row_leaves_no_file_in_the_store(demo_copy: Path, empty_store: Path):
    rows = list(csv.reader((demo_copy / SPECIMEN_TABLE).open(newline="")))
    rows[_last_reconstructed_line(rows) - 1][rows[0].index("nr__number_stems")] = "1e20"
    _rewrite(demo_copy / SPECIMEN_TABLE, lambda _: rows)
    with pytest.raises(TableError):
        demo_load(demo_dir=demo_copy)
    assert _files(empty_store) == []


def test_files_enter_the_store_only_when_the_load_commits(
    monkeypatch, empty_store: Path, django_capture_on_commit_callbacks
):
    def fail() -> None:
        raise TableError("synthetic failure after every file was staged")

    monkeypatch.setattr("celltypes.atlas.services.loading.atlas_version_bump", fail)
    with pytest.raises(TableError, match="synthetic"):
        demo_load()
    assert _files(empty_store) == []
    monkeypatch.undo()

    with django_capture_on_commit_callbacks(execute=True):
        report, _ = demo_load()
        assert _files(empty_store / "well_known_files") == []  # staged, not yet in the store
    stored = _files(empty_store / "well_known_files")
    assert len(stored) == report.files_stored == 47
    assert _files(empty_store / "staging") == []
    digests = dict(WellKnownFile.objects.filter(size__isnull=False).values_list("id", "sha256"))
    assert {int(path.name): filestore.sha256_of(path) for path in stored} == digests
