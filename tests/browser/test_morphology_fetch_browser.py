"""The morphology tab of a cell whose SWC the store lacks, in a real browser: the placeholder shows, its first htmx
poll fetches the file from the upstream (the tests' loopback stub, slowed to 1.5 s so the placeholder is seen, serving
Allen's very bytes of the demo set's SWC), and the 3D view, features and projections swap in without a reload.

Its own throwaway server (runserver, eager Celery: the fetch runs in the poll's request) pointed at the stub.
Screenshots go to var/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.demo_server import EAGER_CELERY, DemoServer, demo_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
CELL, SWC = 468193142, 491120157  # current reconstruction, SWC of 113,266 bytes


@pytest.fixture
def server(tmp_path, stub_upstream) -> Iterator[DemoServer]:
    stub_upstream.delay = 1.5
    with demo_server(tmp_path / "site", CELLTYPES_UPSTREAM=stub_upstream.url, **EAGER_CELERY) as live:
        yield live


def test_the_placeholder_is_replaced_by_the_3d_view_when_the_swc_arrives(page, server, stub_upstream):
    local = server.local_file(SWC)
    body = local.read_bytes()
    local.unlink()
    stub_upstream.files[SWC] = body

    page.goto(f"{server.url}/cell/{CELL}/morphology/")
    placeholder = page.locator("[data-swc-fetch-placeholder]")
    placeholder.wait_for(state="visible", timeout=5_000)
    assert "Fetching the reconstruction file (SWC)" in placeholder.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "morphology-fetch-placeholder.png"))

    page.wait_for_selector("[data-morphology-viewer][data-viewer-state=ready]", timeout=60_000)
    page.wait_for_selector(".js-plotly-plot canvas", state="attached")
    page.wait_for_selector(".morphology-preview img", timeout=30_000)
    assert page.locator("[data-swc-fetch-placeholder]").count() == 0
    assert page.locator("tr[data-feature] td[data-computed]").count() > 0
    assert page.url == f"{server.url}/cell/{CELL}/morphology/"  # swapped in place, no reload or history entry
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "morphology-fetch-swapped.png"), full_page=True)
    assert stub_upstream.requests == [f"/api/v2/well_known_file_download/{SWC}"]
    assert local.read_bytes() == body
    assert page.errors == []
