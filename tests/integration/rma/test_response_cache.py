"""Cached RMA answers are reused only while the atlas version is unchanged."""

import pytest

from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.rma import response_cache

pytestmark = pytest.mark.django_db

CELL = "/api/v2/data/query.json?q=model::ApiCellTypesSpecimenDetail,rma::criteria,[specimen__id$eq313862022]"


def test_a_write_that_bumps_the_version_is_seen_at_once(client):
    response_cache.clear()
    first = client.get(CELL).json()["msg"][0]
    assert first["structure__layer"] == "4"
    ApiCellTypesSpecimenDetail.objects.filter(specimen_id=313862022).update(structure_layer="5")
    assert client.get(CELL).json()["msg"][0]["structure__layer"] == "4"  # same version: the cached answer
    atlas_version_bump()
    assert client.get(CELL).json()["msg"][0]["structure__layer"] == "5"
    response_cache.clear()


def test_errors_are_not_cached(client):
    bad = "/api/v2/data/query.json?q=model::NoSuchModel"
    assert client.get(bad).status_code == 400
    assert client.get(bad).status_code == 400


def test_the_cached_csv_keeps_its_file_name(client):
    response_cache.clear()
    url = "/api/v2/data/query.csv?q=model::Organism&filename=organisms.csv"
    first = client.get(url)
    second = client.get(url)
    assert first.content == second.content
    assert second["Content-Disposition"] == 'attachment; filename="organisms.csv"'
    response_cache.clear()
