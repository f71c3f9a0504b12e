"""The mirror's table registry, record mapping and page checks, on Allen's recorded records (AllenSDK test data,
in demo_data) and on synthetic pages (named as such). No database."""

import io
import json

import pytest
from django.core.management.base import OutputWrapper

from celltypes.atlas import models as m
from celltypes.atlas.services.loading import DEMO_DIR
from celltypes.rma.schema import MODELS
from celltypes.sync.management.commands.sync_upstream import ProgressBar
from celltypes.sync.mirror import MirrorError, MirrorLimits, _page_check, _page_count
from celltypes.sync.mirror_tables import LINK_TABLES, ROW_TABLES, TABLES, RecordError, table_named

RECORDED = json.loads((DEMO_DIR / "AllenSDK/allensdk/test/api/response_test_data/472451419_response.json").read_text())[
    "msg"
][0]
LIMITS = MirrorLimits(
    page_size=2,
    concurrency=1,
    retries=0,
    backoff=0.0,
    backoff_max=0.0,
    page_deadline=1.0,
    max_page_bytes=1000,
    max_rows_per_table=5,
    max_pages=10,
)


def test_every_model_the_rma_api_serves_is_mirrored_parents_before_children():
    mirrored = {table.rma_model for table in ROW_TABLES}
    # Allen's SectionImage is another RMA name for the sub_images table: synced once, as SubImage
    assert set(MODELS) - mirrored == {"SectionImage"} and MODELS["SectionImage"] is table_named("SubImage").model
    assert mirrored <= set(MODELS)
    assert len({table.model._meta.db_table for table in ROW_TABLES}) == len(ROW_TABLES)  # no table synced twice
    order = [table.model for table in ROW_TABLES]
    for position, model in enumerate(order):
        for field in model._meta.concrete_fields:
            target = field.related_model._meta.concrete_model if field.is_relation else None
            if target in order and target is not model:
                assert order.index(target) < position, f"{model.__name__}.{field.name} before {target.__name__}"
    assert len({table.name for table in TABLES}) == len(TABLES)


def test_page_queries_are_ordered_by_allens_primary_key():
    assert table_named("Organism").query(4000, 2000) == (
        "model::Organism,rma::options[num_rows$eq2000][start_row$eq4000][order$eq'id']"
    )
    assert table_named("ApiCellTypesSpecimenDetail").query(0, 10).endswith("[order$eq'specimen__id']")
    assert table_named("Specimen.specimen_tags").query(0, 10) == (
        "model::Specimen,rma::criteria,[is_cell_specimen$eq'true'],products[name$in'Mouse Cell Types','Human Cell "
        "Types'],rma::include,specimen_tags,rma::options[num_rows$eq10][start_row$eq0][order$eq'id'][only$eq'id']"
    )


def test_each_table_is_scoped_to_the_cell_types_rows_or_a_small_vocabulary_taken_whole():
    whole = {t.rma_model for t in ROW_TABLES if not t.criteria}
    assert whole == {
        "Organism",
        "WellKnownFileType",
        "NeuronalModelTemplate",
        "Product",
        "TransgenicLine",
        "SpecimenTag",
        "CellReporter",
        "Structure",
        "ApiCellTypesSpecimenDetail",  # Allen's Cell Types view itself
    }
    assert table_named("EphysSweep").query(0, 5) == (
        "model::EphysSweep,rma::criteria,specimen(products[name$in'Mouse Cell Types','Human Cell Types']),"
        "rma::options[num_rows$eq5][start_row$eq0][order$eq'id']"
    )
    assert table_named("Donor").criteria == "specimens(products[name$in'Mouse Cell Types','Human Cell Types'])"
    assert table_named("WellKnownFile").criteria.startswith("[attachable_type$in'EphysResult',")
    assert table_named("EphysResult.well_known_files").criteria == table_named("EphysResult").criteria


def test_allens_recorded_records_map_onto_our_tables():
    specimen = RECORDED["specimen"]
    model = table_named("NeuronalModel").values(RECORDED)
    assert model == {
        "id": 472451419,
        "name": "Biophysical - perisomatic_Nr5a1-Cre;Ai14-177334.05.01.01",
        "specimen_id": 386049446,
        "neuronal_model_template_id": 329230710,
        "neuron_reconstruction_id": None,  # Allen's record has no such column
    }
    sweep = table_named("EphysSweep").values(specimen["ephys_sweeps"][0])
    assert (sweep["id"], sweep["sweep_number"], sweep["stimulus_absolute_amplitude"]) == (
        396429050,
        42,
        110.000002162547,
    )
    assert "sampling_rate" not in sweep  # ours: never written by a sync
    reconstruction = table_named("NeuronReconstruction").values(specimen["neuron_reconstructions"][0])
    assert (reconstruction["superseded"], reconstruction["number_tips"]) == (False, 22)  # Allen sends no superseded
    result = table_named("EphysResult").values(specimen["ephys_result"])
    assert result == {"id": 386049444, "failed": False, "sampling_rate": 200000.0}
    file = table_named("WellKnownFile").values(specimen["ephys_result"]["well_known_files"][2])
    assert (file["id"], file["well_known_file_type_id"], file["attachable_type"]) == (
        491198851,
        481007198,
        "EphysResult",
    )
    assert "size" not in file and "ephys_result_id" not in file
    owners = table_named("EphysResult.well_known_files").pairs(specimen["ephys_result"])
    assert owners[2] == (386049444, 491198851) and len(owners) == 5


@pytest.mark.parametrize(
    ("table", "record", "message"),
    [
        ("Organism", {"id": True, "name": "x"}, "'id' is not a valid BigIntegerField: True"),
        ("Organism", {"id": 1}, "no 'name'"),
        ("Organism", {"id": 1, "name": None}, "'name' is required, got null"),
        ("Organism", {"id": 1, "name": "x" * 101}, "'name' is not a valid CharField"),
        ("EphysSweep", {"id": 1, "specimen_id": 2, "sweep_number": 2**70}, "'sweep_number' is not a valid"),
        ("EphysSweep", {"id": 1, "specimen_id": 2, "sweep_number": 3, "leak_pa": "7"}, "'leak_pa' is not a valid"),
        ("EphysSweep", {"id": 1, "specimen_id": 2, "sweep_number": 3, "leak_pa": float("nan")}, "'leak_pa'"),
        ("EphysResult", {"id": 1, "failed": "false"}, "'failed' is not a valid BooleanField: 'false'"),
        ("EphysResult", {"id": 1, "failed": None}, "'failed' is required, got null"),  # unknown is not "passed"
        ("Specimen", {"id": 1, "name": "x", "is_cell_specimen": None}, "'is_cell_specimen' is required, got null"),
        ("SubImage", {"id": 1, "failed": "no"}, "'failed' is not a valid BooleanField: 'no'"),
    ],
)
def test_a_record_that_does_not_map_names_its_column(table, record, message):
    with pytest.raises(RecordError, match=message.replace("(", r"\(")):
        table_named(table).values(record)


def test_a_null_image_flag_is_its_default_false_synthetic_records():
    data_set = {"id": 1, "specimen_id": 2, "failed": None, "delegate": None, "expression": True}
    values = table_named("SectionDataSet").values(data_set)
    assert (values["failed"], values["delegate"], values["expression"]) == (False, False, True)
    for name in ("SubImage", "ProjectionImage"):
        values = table_named(name).values({"id": 3, "specimen_id": 2, "annotated": None, "failed": None})
        assert (values["annotated"], values["failed"]) == (False, False)
    assert table_named("SubImage").values({"id": 3, "failed": True})["failed"] is True


def test_a_list_that_is_not_of_records_does_not_map():
    with pytest.raises(RecordError, match="'specimen_tags' should be a list of records"):
        table_named("Specimen.specimen_tags").pairs({"id": 1, "specimen_tags": {"id": 2}})
    with pytest.raises(RecordError, match="'id' should be an integer id"):
        table_named("Specimen.specimen_tags").pairs({"id": 1, "specimen_tags": [{"id": "2"}]})
    assert table_named("Specimen.specimen_tags").pairs({"id": 1}) == []


def test_page_counts():
    assert [_page_count(total, 2000) for total in (0, 1, 2000, 2001, 4000)] == [1, 1, 1, 2, 2]


def _page(rows, total, start=0):  # synthetic envelopes
    return {"success": True, "start_row": start, "num_rows": len(rows), "total_rows": total, "msg": rows}


def test_page_checks_count_start_and_caps():
    organism = table_named("Organism")
    rows = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert _page_check(None, organism, 0, _page(rows, 3), {}, LIMITS) == 3
    assert _page_check(None, organism, 1, _page(rows[:1], 3, start=2), {"Organism": 3}, LIMITS) == 3
    with pytest.raises(MirrorError, match=r"Organism page 1: 2 rows, expected 1 \(start_row 2 of total_rows 3\)"):
        _page_check(None, organism, 1, _page(rows, 3, start=2), {"Organism": 3}, LIMITS)
    with pytest.raises(MirrorError, match="Organism page 1: asked for start_row 2, the upstream answered 0"):
        _page_check(None, organism, 1, _page(rows[:1], 3, start=0), {"Organism": 3}, LIMITS)
    with pytest.raises(MirrorError, match="lists 6 rows, more than CELLTYPES_MIRROR_MAX_ROWS_PER_TABLE=5"):
        _page_check(None, organism, 0, _page(rows, 6), {}, LIMITS)
    with pytest.raises(MirrorError, match=r"Organism page 0, record 1 \(id 2\): no 'name'"):
        _page_check(None, organism, 0, _page([rows[0], {"id": 2}], 2), {}, LIMITS)


def test_the_progress_bar_prints_a_line_per_finished_table_when_not_a_terminal():
    out = io.StringIO()
    bar = ProgressBar(OutputWrapper(out))
    bar.update("Specimen", 700, 2335)
    bar.update("Specimen", 2335, 2335)
    bar.close()
    assert out.getvalue() == f"{'Specimen':<40} [{'#' * 30}]     2335/2335\n"


def test_the_link_tables_are_the_many_to_many_and_file_owner_columns():
    through = {link.through for link in LINK_TABLES if hasattr(link, "through")}
    assert through == {m.Specimen.specimen_tags.through, m.Specimen.products.through, m.Donor.transgenic_lines.through}
    owners = {link.owner_field for link in LINK_TABLES if hasattr(link, "owner_field")}
    assert owners == {f.attname for f in m.WellKnownFile._meta.concrete_fields if f.is_relation} - {
        "well_known_file_type_id"
    }


def test_a_date_column_maps_from_its_iso_text_synthetic_field():
    from datetime import UTC, datetime

    from django.db import models as dj

    from celltypes.sync.mirror_tables import _checker

    check = _checker(dj.DateTimeField(null=True))
    assert check("created_at", "2015-03-02T12:00:00Z") == datetime(2015, 3, 2, 12, tzinfo=UTC)
    assert check("created_at", "2015-03-02T12:00:00") == datetime(2015, 3, 2, 12, tzinfo=UTC)  # naive: UTC
    with pytest.raises(RecordError, match="'created_at' is not a valid DateTimeField: '2015-13-02'"):
        check("created_at", "2015-13-02")
