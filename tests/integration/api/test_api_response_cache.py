"""The REST API's response cache (celltypes/api/response_cache.py): a cached answer is byte-identical to the one
DRF builds (status, headers, body; JSON and CSV; several filter combinations), a bump of the atlas version is seen
by the next request, and `files/` (which follows the file store) is never cached."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from celltypes.api import response_cache
from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.atlas.services.versions import atlas_version_bump

pytestmark = pytest.mark.django_db

MODELLED_CELL = 464198958  # Sst-IRES-Cre

REQUESTS = [
    ("/api/v1/cells/?species=mouse&layer=5&dendrite=spiny&page_size=100", {}),
    ("/api/v1/cells/?species=human&layer=4&dendrite=spiny&page_size=100&format=csv", {}),
    ("/api/v1/cells/?species=human&dendrite=aspiny&dendrite=spiny&page_size=7", {"HTTP_ACCEPT": "text/csv"}),
    ("/api/v1/cells/?species=human&ri_min=100&ri_max=300&ordering=-tau&fields=specimen__id,ef__tau", {}),
    ("/api/v1/cells/?q=Sst&area=VISp&page_size=3", {}),
    (f"/api/v1/cells/{MODELLED_CELL}/", {}),
    ("/api/v1/cells/facets/?species=human", {}),
    (f"/api/v1/sweeps/?specimen_id={MODELLED_CELL}&page_size=5", {}),
    (f"/api/v1/models/?specimen_id={MODELLED_CELL}", {}),
    ("/api/v1/reconstructions/?page_size=20&format=csv", {}),
]


def answer(client, url: str, headers: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    response = client.get(url, **headers)
    return response.status_code, sorted(response.items()), response.content


@pytest.mark.parametrize(("url", "headers"), REQUESTS)
def test_a_cached_answer_is_the_built_answer_byte_for_byte(client, url, headers):
    with override_settings(CELLTYPES_API_RESPONSE_CACHE=False):
        built = answer(client, url, headers)
    first = answer(client, url, headers)  # built again, and kept
    with CaptureQueriesContext(connection) as queries:
        cached = answer(client, url, headers)
    assert [q["sql"] for q in queries] == ['SELECT version FROM "atlas_version" WHERE id = 1']  # a hit
    assert built[0] == 200 and built[2]
    assert cached == first == built


def test_the_next_page_of_a_cached_page_is_its_own_answer(client):
    url = "/api/v1/cells/?species=human&page_size=50"
    first = client.get(url).json()
    second = client.get(first["next"]).json()
    assert client.get(url).json() == first and client.get(first["next"]).json() == second
    assert not {row["specimen__id"] for row in first["results"]} & {row["specimen__id"] for row in second["results"]}


def test_a_version_bump_is_seen_by_the_next_request(client):
    record = f"/api/v1/cells/{MODELLED_CELL}/"
    page = "/api/v1/cells/?species=mouse&line=Sst-IRES-Cre&page_size=1000&fields=specimen__id,line_name"
    assert client.get(record).json()["line_name"] == "Sst-IRES-Cre"
    count = client.get(page).json()["count"]
    ApiCellTypesSpecimenDetail.objects.filter(pk=MODELLED_CELL).update(line_name="Synthetic-line")
    # Unbumped (no writer of Allen's tables does this): the cached answers stand, which shows they are cached.
    assert client.get(record).json()["line_name"] == "Sst-IRES-Cre"
    atlas_version_bump()
    assert client.get(record).json()["line_name"] == "Synthetic-line"
    assert client.get(page).json()["count"] == count - 1


def test_each_host_gets_its_own_links(client):
    url = f"/api/v1/cells/{MODELLED_CELL}/"
    assert client.get(url).json()["url"] == f"http://testserver{url}"
    assert client.get(url, HTTP_HOST="localhost").json()["url"] == f"http://localhost{url}"


def test_files_are_never_cached(client):
    """`held` follows the file store, not the atlas version."""
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/files/?page_size=5").status_code == 200
        assert len(queries) == 2  # built each time: a count and the page
    assert len(response_cache.answers) == 0


def test_errors_are_never_cached(client):
    client.get("/api/v1/cells/?species=martian")
    client.get("/api/v1/cells/1/")
    assert len(response_cache.answers) == 0


def test_a_cached_answer_still_counts_towards_the_rate_limit(client):
    from django.core.cache import cache

    cache.clear()
    url = "/api/v1/cells/?page_size=1&format=csv"
    with override_settings(CELLTYPES_API_ANON_RATE="2/minute"):
        responses = [client.get(url) for _ in range(3)]
    cache.clear()
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2]["Content-Type"] == "text/csv; charset=utf-8" and b"throttled" in responses[2].content


LEAN_REQUESTS = [
    "/api/v1/cells/?species=mouse&layer=5&dendrite=spiny&page_size=100",
    "/api/v1/cells/?species=human&ordering=-tau&page_size=40&format=csv",
    "/api/v1/cells/?species=human&ordering=area&fields=url,specimen__id,ef__tau&page_size=30",
    f"/api/v1/sweeps/?specimen_id={MODELLED_CELL}&ordering=-stimulus_absolute_amplitude",
    "/api/v1/ephys-features/?page_size=50&format=csv",
    "/api/v1/morphology-features/?page_size=50&ordering=-max_euclidean_distance",
    "/api/v1/reconstructions/?page_size=50",
]


@pytest.mark.parametrize("url", LEAN_REQUESTS)
def test_pages_read_as_named_tuples_are_the_pages_read_as_model_instances(client, monkeypatch, url):
    from celltypes.api import views

    with override_settings(CELLTYPES_API_RESPONSE_CACHE=False):
        lean = client.get(url)
        next_lean = lean.get("Link")
        monkeypatch.setattr(views.ReadOnlyApiViewSet, "lean_columns", lambda self: None)
        built = client.get(url)
    assert lean.status_code == built.status_code == 200
    assert lean.content == built.content and next_lean == built.get("Link")


def test_which_serializers_read_named_tuples():
    from celltypes.api import serializers

    lean = [serializers.CellSerializer, serializers.SweepSerializer, serializers.ReconstructionSerializer]
    assert all(serializers.lean_columns(s) for s in lean)
    assert "specimen_id" in serializers.lean_columns(serializers.CellSerializer)
    # A related row (the template's name) or the file store (held) needs the instance.
    assert serializers.lean_columns(serializers.NeuronalModelSerializer) is None
    assert serializers.lean_columns(serializers.WellKnownFileSerializer) is None


def test_a_host_not_allowed_is_refused_as_without_the_cache(client):
    url = f"/api/v1/cells/{MODELLED_CELL}/"
    assert client.get(url, HTTP_HOST="evil.example").status_code == 400
    with override_settings(CELLTYPES_API_RESPONSE_CACHE=False):
        assert client.get(url, HTTP_HOST="evil.example").status_code == 400
    assert len(response_cache.answers) == 0
