"""The REST API (/api/v1/) over the real demo set: counts, values, filters shared with the search page, keyset
paging, sparse fields, ordering, CSV, read-only, CORS, throttling and query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from celltypes.atlas import filestore
from celltypes.atlas.models import ApiCellTypesSpecimenDetail, EphysSweep, WellKnownFile
from celltypes.atlas.selectors.search import cell_queryset
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.atlas.vocabulary import HUMAN

pytestmark = pytest.mark.django_db

MODELLED_CELL = 464198958  # Sst-IRES-Cre, 6 neuronal models; Allen's EphysFeature record 472449924


def all_pages(client, url: str, **params) -> list[dict]:
    rows, page = [], client.get(url, params)
    while True:
        assert page.status_code == 200, page.content
        rows += page.json()["results"]
        if page.json()["next"] is None:
            return rows
        page = client.get(page.json()["next"])


def test_human_cells_count_413_like_the_search_page(client):
    body = client.get("/api/v1/cells/", {"species": "human", "page_size": 1}).json()
    assert body["count"] == 413 == cell_queryset(filters={"species": ["human"]}).count()


def test_filters_combine_like_the_search_page(client):
    params = {"species": "mouse", "layer": "4", "dendrite": ["spiny", "aspiny"], "page_size": 1000}
    body = client.get("/api/v1/cells/", params).json()
    expected = cell_queryset(filters={"species": ["mouse"], "layer": ["4"], "dendrite": ["spiny", "aspiny"]})
    assert sorted(row["specimen__id"] for row in body["results"]) == sorted(expected.values_list("pk", flat=True))
    assert body["count"] == expected.count() > 0
    assert {row["structure__layer"] for row in body["results"]} == {"4"}


def test_facets_are_the_search_pages_counts(client):
    counts = client.get("/api/v1/cells/facets/", {"species": "human"}).json()
    assert counts["species"] == {"mouse": 1920, "human": 413}  # the species facet ignores its own filter
    assert sum(counts["dendrite"].values()) <= 413


def test_cell_record_has_allens_columns_and_links_to_its_page(client):
    record = client.get(f"/api/v1/cells/{MODELLED_CELL}/").json()
    row = ApiCellTypesSpecimenDetail.objects.get(pk=MODELLED_CELL)
    assert record["specimen__id"] == MODELLED_CELL
    assert record["line_name"] == row.line_name == "Sst-IRES-Cre"
    assert record["ef__vrest"] == row.ef_vrest
    assert record["page_url"] == f"http://testserver/cell/{MODELLED_CELL}/"
    assert record["url"] == f"http://testserver/api/v1/cells/{MODELLED_CELL}/"
    page = client.get(record["page_url"]).content.decode()
    assert f'href="/api/v1/cells/{MODELLED_CELL}/"' in page


def test_ephys_features_of_a_cell_are_allens_values(client):
    body = client.get("/api/v1/ephys-features/", {"specimen_id": MODELLED_CELL}).json()
    assert body["count"] == 1
    record = body["results"][0]
    assert record["id"] == 472449924
    assert record["vrest"] == pytest.approx(-66.2410736083984)
    assert record["tau"] == pytest.approx(23.5896544303652)
    assert record["ri"] == pytest.approx(358.35337638855)
    assert record["threshold_i_long_square"] == 20.0
    assert client.get("/api/v1/ephys-features/472449924/").json()["avg_isi"] == pytest.approx(42.8673913043478)


def test_667_current_reconstructions_and_older_ones_beside_them(client):
    assert client.get("/api/v1/morphology-features/", {"page_size": 1}).json()["count"] == 667
    every = client.get("/api/v1/reconstructions/", {"page_size": 1}).json()["count"]
    assert every >= 667


def test_sweeps_of_a_cell(client):
    rows = all_pages(client, "/api/v1/sweeps/", specimen_id=MODELLED_CELL, ordering="sweep_number", page_size=7)
    expected = list(EphysSweep.objects.filter(specimen_id=MODELLED_CELL).order_by("sweep_number"))
    assert [row["sweep_number"] for row in rows] == [sweep.sweep_number for sweep in expected]
    assert len(rows) > 7
    assert rows[0]["page_url"] == f"http://testserver/cell/{MODELLED_CELL}/ephys/"


def test_models_of_a_cell(client):
    body = client.get("/api/v1/models/", {"specimen_id": MODELLED_CELL}).json()
    assert body["count"] == 6
    assert body["results"][0]["download_link"].startswith("http://testserver/neuronal_model/download/")


def test_files_say_held_only_when_the_store_holds_them(client):
    rows = all_pages(client, "/api/v1/files/", page_size=1000)
    assert len(rows) == WellKnownFile.objects.count()
    for row in rows:
        assert row["held"] == filestore.has_well_known_file(row["id"])
        assert row["download_link"] == f"http://testserver/api/v2/well_known_file_download/{row['id']}"
        if not row["held"]:
            assert row["size"] is None and row["sha256"] is None
    assert any(row["held"] for row in rows) and not all(row["held"] for row in rows)


@pytest.mark.parametrize("ordering", ["id", "-tau", "rheobase", "-area", "name"])
def test_keyset_pages_cover_every_row_once_in_order(client, ordering):
    rows = all_pages(client, "/api/v1/cells/", species="human", ordering=ordering, page_size=97)
    ids = [row["specimen__id"] for row in rows]
    assert len(ids) == len(set(ids)) == 413
    if ordering == "-tau":
        taus = [row["ef__tau"] for row in rows]
        present = [t for t in taus if t is not None]
        assert present == sorted(present, reverse=True)
        assert taus[len(present) :] == [None] * (len(taus) - len(present))  # nulls last


def test_a_page_is_stable_when_rows_before_it_are_deleted(client):
    first = client.get("/api/v1/cells/", {"species": "human", "page_size": 50}).json()
    expected_next = client.get(first["next"]).json()["results"]
    ApiCellTypesSpecimenDetail.objects.filter(pk__in=[row["specimen__id"] for row in first["results"][:10]]).delete()
    atlas_version_bump()  # as every write does: the next page is built again, not taken from the response cache
    assert client.get(first["next"]).json()["results"] == expected_next


def test_sparse_fields(client):
    body = client.get("/api/v1/cells/", {"fields": "specimen__id,ef__tau", "page_size": 3}).json()
    assert [set(row) for row in body["results"]] == [{"specimen__id", "ef__tau"}] * 3
    bad = client.get("/api/v1/cells/", {"fields": "specimen__id,nope"})
    assert bad.status_code == 400 and "nope" in bad.json()["fields"]


def test_csv(client):
    response = client.get("/api/v1/cells/", {"species": "human", "fields": "specimen__id,line_name", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["specimen__id", "line_name"] and len(rows) == 51
    assert 'rel="next"' in response["Link"]
    by_accept = client.get("/api/v1/sweeps/", {"page_size": 2}, HTTP_ACCEPT="text/csv")
    assert by_accept["Content-Type"].startswith("text/csv") and len(by_accept.content.decode().splitlines()) == 3


@pytest.mark.parametrize(
    "params",
    [
        {"species": "martian"},
        {"ordering": "specimen__name; drop table"},
        {"page_size": "0"},
        {"page_size": "1001"},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJvIjoiaWQiLCJ2IjoiYWJjIiwicGsiOiJ4In0="},  # {"o":"id","v":"abc","pk":"x"}
        {"q": "x" * 201},
    ],
)
def test_bad_parameters_are_400(client, params):
    response = client.get("/api/v1/cells/", params)
    assert response.status_code == 400, response.content
    assert set(response.json()) & set(params)


def test_a_cursor_of_another_ordering_is_400(client):
    nxt = client.get("/api/v1/cells/", {"page_size": 5, "ordering": "tau"}).json()["next"]
    cursor = nxt.split("cursor=")[1].split("&")[0]
    assert client.get("/api/v1/cells/", {"cursor": cursor, "ordering": "-tau"}).status_code == 400


def test_unknown_records_are_404(client):
    assert client.get("/api/v1/cells/1/").status_code == 404
    assert client.get("/api/v1/cells/99999999999999999999999/").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_read_only(client, method):
    assert getattr(client, method)("/api/v1/cells/").status_code == 405
    assert getattr(client, method)(f"/api/v1/cells/{MODELLED_CELL}/").status_code == 405
    assert ApiCellTypesSpecimenDetail.objects.filter(pk=MODELLED_CELL).exists()


def test_cors_for_browser_tools(client):
    response = client.get("/api/v1/cells/", {"page_size": 1}, HTTP_ORIGIN="https://lab.example")
    assert response["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/api/v1/cells/", HTTP_ORIGIN="https://lab.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert preflight.status_code == 204 and "GET" in preflight["Access-Control-Allow-Methods"]
    refused = client.options(
        "/api/v1/cells/", HTTP_ORIGIN="https://lab.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="DELETE"
    )
    assert "Access-Control-Allow-Origin" not in refused
    assert "Access-Control-Allow-Origin" not in client.get("/cells/")


def test_throttled_per_address(client):
    from django.core.cache import cache

    cache.clear()
    with override_settings(CELLTYPES_API_ANON_RATE="3/minute"):
        codes = [client.get("/api/v1/cells/", {"page_size": 1}).status_code for _ in range(4)]
    cache.clear()
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cells/?page_size=100&species=mouse&layer=5&dendrite=spiny",
        "/api/v1/sweeps/?page_size=100",
        "/api/v1/ephys-features/?page_size=100",
        "/api/v1/morphology-features/?page_size=100",
        "/api/v1/reconstructions/?page_size=100",
        "/api/v1/models/?page_size=100",
        "/api/v1/files/?page_size=100",
    ],
)
def test_a_page_takes_two_queries(client, url):
    """A count and the page itself, whatever the page size: no query per row (the answer built, not cached)."""
    with override_settings(CELLTYPES_API_RESPONSE_CACHE=False), CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) == 2, [q["sql"][:120] for q in queries]


def test_schema_and_docs_page(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/cells/", "/api/v1/cells/{specimen_id}/", "/api/v1/files/{id}/"} <= set(schema["paths"])
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs and "https://" not in docs.split("<body")[0]


def test_unknown_api_paths_are_json_404(client):
    # A newline in the path (schemathesis found one under files/{id}/) is no API path either.
    for path in ("/api/v1/nothing/", "/api/v1/cells/abc/", "/api/v1/cells/%C2%84/", "/api/v1/files/n%0A%5D/"):
        response = client.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path
        assert "No such API endpoint" in response.json()["detail"]


def test_a_browser_following_the_cell_pages_link_gets_json(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get(f"/api/v1/cells/{MODELLED_CELL}/", HTTP_ACCEPT=accept)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    root = client.get("/api/v1/", HTTP_ACCEPT=accept)
    assert root["Content-Type"] == "application/json"
    assert set(root.json()) == {
        "cells",
        "sweeps",
        "ephys-features",
        "morphology-features",
        "reconstructions",
        "models",
        "files",
    }


def test_cells_take_the_search_pages_numeric_ranges(client):
    """The REST API's ranges are the search page's RANGE_FILTERS (one definition): ri between 100 and 300 MΩ."""
    expected = ApiCellTypesSpecimenDetail.objects.filter(
        ef_ri__gte=100, ef_ri__lte=300, donor_species__in=HUMAN.spellings
    )
    rows = all_pages(client, "/api/v1/cells/", species="human", ri_min=100, ri_max=300, page_size=1000)
    assert sorted(row["specimen__id"] for row in rows) == sorted(expected.values_list("specimen_id", flat=True))
    assert 0 < len(rows) < 413
    assert client.get("/api/v1/cells/?ri_min=300&ri_max=100").status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cells/?donor__species=Mus%20musculus",  # a misspelt facet: before, all 2,333 cells answered
        "/api/v1/sweeps/?specimen=509881736",
        "/api/v1/cells/facets/?spceies=mouse",
        "/api/v1/cells/313860745/?page_size=2",
    ],
)
def test_an_unknown_query_parameter_is_a_400_naming_it_not_the_whole_table(client, url):
    response = client.get(url)
    assert response.status_code == 400
    name = url.split("?")[1].split("=")[0]
    assert name in response.json()
    assert "Not a parameter of this endpoint" in str(response.json()[name])


def test_documented_parameters_are_all_still_taken(client):
    for url in (
        "/api/v1/cells/?species=mouse&q=pvalb&ri_min=100&ri_max=300&ordering=-ri&page_size=5&fields=specimen__id",
        "/api/v1/cells/facets/?species=human",
        "/api/v1/sweeps/?specimen_id=509881736&format=csv",
        "/api/v1/cells/313860745/?fields=specimen__id&format=json",
    ):
        assert client.get(url).status_code == 200, url
