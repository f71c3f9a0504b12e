"""Big flat JSON pages come from the row cache: same bytes as the direct path, never stale across versions."""

import orjson
import pytest

from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.rma import response_cache, row_cache
from celltypes.rma.engine import run_query
from celltypes.rma.parser import parse_params
from celltypes.rma.renderers import json as json_renderer

pytestmark = pytest.mark.django_db

CELLS = "model::ApiCellTypesSpecimenDetail"
QUERIES = [
    f"{CELLS},rma::options[num_rows$eq'all']",
    f"{CELLS},rma::criteria,[donor__species$eq'Homo Sapiens'],rma::options[num_rows$eq'all']",
    f"{CELLS},rma::criteria,[structure__layer$eq'4'],rma::options[num_rows$eq600][start_row$eq10]"
    "[order$eq'specimen__name desc']",
    f"{CELLS},rma::options[num_rows$eq'all'][except$eqcsl__x,csl__y]",
    "model::EphysFeature,rma::options[num_rows$eq'all']",
    "model::NeuronReconstruction,rma::options[num_rows$eq'all'][except$eqtags]",
]


def _direct(q: str) -> bytes:
    result = run_query(parse_params({"q": q}))  # no json_version: dicts, read row by row
    assert all(isinstance(record, dict) for record in result.records)
    return json_renderer.envelope(
        success=True,
        start_row=result.start_row,
        num_rows=result.num_rows,
        total_rows=result.total_rows,
        msg=result.records,
    )


@pytest.mark.parametrize("q", QUERIES)
def test_cached_fragments_give_the_same_bytes(client, q):
    direct = _direct(q)
    assert client.get("/api/v2/data/query.json", {"q": q}).content == direct
    response_cache.clear()  # the second answer comes from the row cache's table built by the first
    assert client.get("/api/v2/data/query.json", {"q": q}).content == direct
    assert orjson.loads(direct)["num_rows"] >= 400


def test_the_row_cache_serves_big_json_pages_only():
    version = 7
    big = run_query(parse_params({"q": QUERIES[0]}), json_version=version)
    assert all(isinstance(record, orjson.Fragment) for record in big.records) and big.num_rows == 2333
    small = run_query(parse_params({"q": f"{CELLS},rma::options[num_rows$eq5]"}), json_version=version)
    assert all(isinstance(record, dict) for record in small.records)


def test_a_write_with_a_version_bump_is_seen(client):
    q = QUERIES[0]
    before = client.get("/api/v2/data/query.json", {"q": q}).json()["msg"]
    assert next(c for c in before if c["specimen__id"] == 313862022)["structure__layer"] == "4"
    ApiCellTypesSpecimenDetail.objects.filter(specimen_id=313862022).update(structure_layer="5")
    atlas_version_bump()
    after = client.get("/api/v2/data/query.json", {"q": f"{q}[start_row$eq0]"}).json()["msg"]
    assert next(c for c in after if c["specimen__id"] == 313862022)["structure__layer"] == "5"


def test_too_big_tables_and_unknown_rows_fall_back_to_direct_reads(client, monkeypatch):
    q = QUERIES[1]
    direct = _direct(q)
    monkeypatch.setattr(row_cache, "MAX_TABLE_ROWS", 100)
    assert client.get("/api/v2/data/query.json", {"q": q}).content == direct
    assert None in row_cache._tables.values()  # remembered as too big
    monkeypatch.setattr(row_cache, "MAX_TABLE_ROWS", 50_000)
    row_cache.clear()
    response_cache.clear()
    client.get("/api/v2/data/query.json", {"q": q})
    (table,) = (t for t in row_cache._tables.values() if t)
    table.pop(next(iter(table)))  # a row the cached table lacks: read directly instead of failing
    response_cache.clear()
    assert client.get("/api/v2/data/query.json", {"q": QUERIES[0]}).content == _direct(QUERIES[0])


def test_the_cache_is_bounded_in_bytes(client, monkeypatch):
    client.get("/api/v2/data/query.json", {"q": QUERIES[0]})
    cells = row_cache.size()
    assert 3_500_000 < cells < 4_500_000  # the 2,333-cell table as JSON
    monkeypatch.setattr(row_cache, "MAX_BYTES", cells + 100_000)
    response_cache.clear()
    assert client.get("/api/v2/data/query.json", {"q": QUERIES[5]}).status_code == 200  # another table: evicts
    assert row_cache.size() < cells
    monkeypatch.setattr(row_cache, "MAX_BYTES", 1000)
    row_cache.clear()
    response_cache.clear()
    assert client.get("/api/v2/data/query.json", {"q": QUERIES[1]}).content == _direct(QUERIES[1])
    assert row_cache.size() == 0 and list(row_cache._tables.values()) == [None]
