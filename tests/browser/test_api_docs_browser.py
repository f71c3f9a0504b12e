"""The REST API docs page (Swagger UI, assets served from here) renders every endpoint under a strict
Content-Security-Policy: no inline script or style, nothing from another origin."""

from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"


@pytest.fixture
def api_server():
    """A live server in a thread; the docs page and the schema read no database."""
    server = LiveServer("127.0.0.1")
    try:
        yield server.url
    finally:
        server.stop()


def test_docs_page_lists_every_endpoint_under_a_strict_csp(page, api_server):
    violations: list[str] = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    def with_csp(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route("**/*", with_csp)
    page.goto(f"{api_server}/api/v1/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/api/v1/cells/", "/api/v1/cells/{specimen_id}/", "/api/v1/files/{id}/"} <= {p.strip() for p in paths}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))
    assert violations == [] and page.errors == []
    assert all(url.startswith((api_server, "data:")) for url in requests)
