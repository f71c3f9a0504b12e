"""A NUL byte in an API URL is a 400 in that API's own error shape, never a 500 (PostgreSQL refuses NUL in text).
The pages clean NUL bytes out of their parameters (tests/integration/web)."""

from __future__ import annotations

import pytest

from celltypes.middleware import NUL_REFUSED

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cells/?layer=%00",  # schemathesis found this one: a 500 on PostgreSQL
        "/api/v1/cells/facets/?layer=5%00",
        "/api/v1/sweeps/?specimen_id=1&%00=1",
    ],
)
def test_rest_api_answers_its_json_400(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.json() == {"detail": NUL_REFUSED}


def test_rma_api_answers_allens_error_envelope(client):
    response = client.get("/api/v2/data/query.json?q=model::Specimen,rma::criteria,[name$eq'a%00']")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert NUL_REFUSED in str(body["msg"])


def test_ordinary_requests_pass(client):
    assert client.get("/api/v1/cells/?layer=5&page_size=1").status_code == 200
