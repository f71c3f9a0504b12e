"""schemathesis against a live server of the demo set: every operation of the OpenAPI schema, property-based
(bounded examples): no 5xx, every status code, content type, header and body as the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pytest_django.live_server_helper import LiveServer
from schemathesis import checks

MAX_EXAMPLES = 15  # per operation: 15 operations stay under a minute
# Not positive_data_acceptance: a cursor or a field list can be schema-valid (any string) and still name nothing,
# and a 400 saying so is the right answer.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def api_server(db):
    """A live server in a thread over the test database (sharing the test's connection), unthrottled:
    schemathesis sends hundreds of requests from one address."""
    from django.test.utils import override_settings

    with override_settings(CELLTYPES_API_ANON_RATE=""):
        server = LiveServer("127.0.0.1")
        try:
            yield server.url
        finally:
            server.stop()


@pytest.fixture
def api_schema(api_server):
    return schemathesis.openapi.from_url(f"{api_server}/api/v1/schema/?format=json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_conforms(case):
    case.call_and_validate(checks=CHECKS)
