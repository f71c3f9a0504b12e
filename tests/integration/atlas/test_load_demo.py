"""load_demo is idempotent, atomic, and reads Allen tables by column name."""

import csv
import shutil
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, Specimen
from celltypes.atlas.services.loading import DEMO_DIR, SPECIMEN_TABLE, demo_load
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
