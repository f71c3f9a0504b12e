"""The engine's flat path and the JSON renderer against plain references, over the demo set.

The flat path (no include, no computed attribute) reads tuples with values_list() and fills dicts; the reference
loads model instances and reads each attribute (the object path of serialize.records). The renderer writes plain
orjson and falls back to OPT_NON_STR_KEYS; the reference always passes that option (what it did before). Rows,
totals and bytes must be the same, on SQLite and on PostgreSQL.
"""

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from celltypes.atlas.models import EphysSweep, Specimen
from celltypes.rma import response_cache
from celltypes.rma.engine import run_query
from celltypes.rma.parser import parse_params
from celltypes.rma.planner import plan
from celltypes.rma.renderers import json as json_renderer
from celltypes.rma.serialize import records
from tests.integration.rma.statements import statements_of

pytestmark = pytest.mark.django_db

CELLS = "model::ApiCellTypesSpecimenDetail"
ALL = "rma::options[num_rows$eq'all']"
GLIF_SPECIMEN = 318556138
SWC_SPECIMEN = 464198958

FLAT = [
    f"{CELLS},{ALL}",
    f"{CELLS}",  # the default page of 50
    f"{CELLS},rma::criteria,[donor__species$eq'Homo Sapiens'],{ALL}",
    f"{CELLS},rma::criteria,[specimen__id$eq{GLIF_SPECIMEN}]",
    f"{CELLS},rma::criteria,[ef__tau$gt20],rma::options[num_rows$eq'all'][order$eq'ef__tau desc']",
    f"{CELLS},rma::options[num_rows$eq17][start_row$eq100][only$eqspecimen__id,line_name,csl__z]",
    f"{CELLS},rma::options[num_rows$eq'all'][except$eqdonor__name,ef__tau,line_name]",
    f"{CELLS},rma::options[num_rows$eq5][start_row$eq10][order$eq'specimen__id desc']",
    f"{CELLS},rma::options[num_rows$eq'all'][start_row$eq2330]",
    f"{CELLS},rma::options[num_rows$eq'all'][start_row$eq5000]",
    f"{CELLS},rma::options[num_rows$eq0]",
    "model::Organism,rma::options[except$eqid,name]",  # no attribute left: empty records
    "model::EphysFeature,rma::options[num_rows$eq'all']",  # booleans
    "model::NeuronReconstruction,rma::options[num_rows$eq'all'][except$eqtags]",
    f"model::EphysSweep,rma::criteria,[specimen_id$eq{GLIF_SPECIMEN}],"
    "rma::options[num_rows$eq'all'][order$eq'stimulus_name desc','sweep_number']",
    f"model::EphysSweep,rma::criteria,[specimen_id$eq{GLIF_SPECIMEN}],"
    "rma::options[num_rows$eq3][only$eqid,sweep_number,stimulus_name,peak_deflection]",
]


@pytest.fixture(autouse=True)
def _no_cached_answers():
    response_cache.clear()
    yield
    response_cache.clear()


def reference_envelope(start_row: int, total_rows: int, msg: list) -> bytes:
    body = {"success": True, "id": 0, "start_row": start_row, "num_rows": len(msg), "total_rows": total_rows}
    return orjson.dumps({**body, "msg": msg}, option=orjson.OPT_NON_STR_KEYS)


@pytest.mark.parametrize("q", FLAT)
def test_the_flat_path_gives_the_rows_model_instances_give(q, client):
    query = parse_params({"q": q})
    p = plan(query.stages[0])
    assert not p.includes and not p.model.computed and p.tabular is None
    start, stop = p.start_row, p.start_row + p.num_rows
    expected = [] if p.num_rows == 0 else records(p, list(p.queryset[start:stop]), {})

    result = run_query(query)

    assert result.records == expected
    assert [list(r) for r in result.records] == [list(r) for r in expected]  # same keys in the same order
    assert result.total_rows == p.queryset.count()
    body = client.get("/api/v2/data/query.json", {"q": q}).content
    assert body == reference_envelope(p.start_row, result.total_rows, expected)


def test_all_cells_take_one_query():
    query = parse_params({"q": f"{CELLS},{ALL}"})
    with CaptureQueriesContext(connection) as run:
        result = run_query(query)
    assert len(statements_of(run)) == 1  # no COUNT: a short first page tells the total
    assert result.num_rows == result.total_rows == 2333
    assert len(result.records[0]) == 54


def test_an_include_of_a_to_many_matches_the_orm(client):
    q = f"model::Specimen,rma::criteria,[id$in{GLIF_SPECIMEN},{SWC_SPECIMEN}],rma::include,ephys_sweeps,{ALL}"
    p = plan(parse_params({"q": q}).stages[0])
    sweep_fields = [(a.name, a.field) for a in p.includes["ephys_sweeps"].model.attributes.values()]
    specimen_fields = [(a.name, a.field) for a in p.model.attributes.values()]
    expected = []
    for specimen in Specimen.objects.filter(id__in=[GLIF_SPECIMEN, SWC_SPECIMEN]).order_by("id"):
        record = {name: getattr(specimen, attname) for name, attname in specimen_fields}
        sweeps = EphysSweep.objects.filter(specimen_id=specimen.id).order_by("id")
        record["ephys_sweeps"] = [{name: getattr(s, attname) for name, attname in sweep_fields} for s in sweeps]
        expected.append(record)
    assert expected[0]["ephys_sweeps"]  # the GLIF specimen has sweeps in the demo set

    body = client.get("/api/v2/data/query.json", {"q": q}).content

    msg = orjson.loads(body)["msg"]
    for record in msg:
        record["ephys_sweeps"].sort(key=lambda sweep: sweep["id"])
    assert msg == orjson.loads(orjson.dumps(expected))
    result = run_query(parse_params({"q": q}))
    assert body == reference_envelope(0, 2, result.records)


def test_tabular_columns_over_an_include_match_the_orm(client):
    q = (
        f"model::Specimen,rma::criteria,[id$in{GLIF_SPECIMEN},{SWC_SPECIMEN}],rma::include,neuronal_models,"
        "rma::options[tabular$eq'specimens.id','neuronal_models.id+as+model_id']"
    )
    expected = []
    for specimen in Specimen.objects.filter(id__in=[GLIF_SPECIMEN, SWC_SPECIMEN]).order_by("id"):
        model_ids = sorted(specimen.neuronal_models.values_list("id", flat=True)) or [None]
        expected += [{"id": specimen.id, "model_id": model_id} for model_id in model_ids]

    body = client.get("/api/v2/data/query.json", {"q": q}).content

    assert body == reference_envelope(0, len(expected), expected)


def test_a_tabular_name_given_twice_keeps_its_first_place_and_last_value(client):
    q = (
        f"model::Specimen,rma::criteria,[id$in{GLIF_SPECIMEN},{SWC_SPECIMEN}],rma::include,neuronal_models,"
        "rma::options[tabular$eq'specimens.id','neuronal_models.id','specimens.name+as+name']"
    )
    expected = []
    for specimen in Specimen.objects.filter(id__in=[GLIF_SPECIMEN, SWC_SPECIMEN]).order_by("id"):
        for model_id in sorted(specimen.neuronal_models.values_list("id", flat=True)):
            expected.append(dict(zip(("id", "id", "name"), (specimen.id, model_id, specimen.name), strict=True)))

    body = client.get("/api/v2/data/query.json", {"q": q}).content

    assert body == reference_envelope(0, len(expected), expected)


def test_the_renderer_writes_what_the_non_str_keys_option_writes():
    msg = [{"a": 1.5, "b": None, "c": True, "d": 'é\u2028"x"', "e": [1, {"f": float("nan")}], "g": 2**62}]
    assert json_renderer.envelope(success=True, start_row=0, num_rows=1, total_rows=1, msg=msg) == (
        reference_envelope(0, 1, msg)
    )
    odd = [{1: "int key", None: "null key", "s": {2.5: "float key"}}]
    assert json_renderer.envelope(success=True, start_row=0, num_rows=1, total_rows=1, msg=odd) == (
        reference_envelope(0, 1, odd)
    )
