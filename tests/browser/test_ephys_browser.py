"""The sweep browser in a real browser (Debian chromium driven by playwright): the five real Long Square windows
drawn with their spikes marked, the URL state (sweeps, zoom window; back/forward), the zoom refetch at full
resolution, the f-I curve of a cell with no recording held, the voltage-clamp NWB specimen. Screenshots go to
var/screenshots/."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import wait_until
from tests.support.demo_server import EAGER_CELERY, DemoServer, demo_env, demo_server
from tests.support.synthetic_nwb import SYNTHETIC_AMPLITUDES, synthetic_spike_counts, write_synthetic_nwb2

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
HELD = {509881736: 39, 518290966: 57, 526950199: 37, 555060623: 34, 566517779: 46}
TABLE_CELL = 324032509  # Allen's sweep table, no recording held
BROWSER = "[data-sweep-browser]"
PLOT = f"{BROWSER} [data-plot]"


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("browser-ephys"), **EAGER_CELERY) as running:  # thumbnails drawn at once
        yield running


@pytest.fixture(scope="module")
def server(live) -> str:
    return live.url


def shot(page, name: str, selector: str | None = None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    if selector:
        page.locator(selector).screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=True)


def drawn(page, **expected: str) -> dict:
    """Wait for the plot to be drawn (with the given data- values), then its state."""
    root = f"document.querySelector('{BROWSER}')"
    condition = " && ".join(
        [f"{root} !== null", f"{root}.dataset.state === 'drawn'"]
        + [f"{root}.dataset.{k} === '{v}'" for k, v in expected.items()]
    )
    wait_until(page, condition, timeout=60_000)
    return page.evaluate(
        f"""(() => {{ const root = document.querySelector('{BROWSER}'); const gd = root.querySelector('[data-plot]');
        return {{ points: Number(root.dataset.points), full: root.dataset.fullResolution,
                  names: gd.data.map(t => t.name), range: gd.layout.xaxis.range,
                  markers: Object.fromEntries(gd.data.filter(t => t.mode === 'markers').map(t => [t.name, t.x.length])),
                  spikeRows: root.querySelectorAll('[data-spike-table] tbody tr').length }}; }})()"""
    )


@pytest.mark.parametrize(("specimen_id", "sweep"), HELD.items())
def test_each_real_sweep_is_drawn_with_its_spikes_marked(page, server, specimen_id, sweep):
    page.goto(f"{server}/cell/{specimen_id}/ephys/")
    state = drawn(page)
    assert f"sweep {sweep}" in state["names"][0]
    spikes = state["markers"]["peak"]
    assert spikes > 0 and state["markers"]["threshold"] == state["markers"]["fast trough"] == spikes
    assert state["spikeRows"] == spikes
    assert 3000 < state["points"] < 6000 and state["full"] == "0"
    assert page.get_attribute(f'.sweep-box[data-sweep="{sweep}"]', "aria-pressed") == "true"
    status = page.inner_text("[data-trace-status]")
    assert "downsampled on the server" in status and "Gonçalves et al. 2020" in status
    assert page.errors == []
    shot(page, f"ephys-{specimen_id}")


def test_zoom_refetches_at_full_resolution_and_lives_in_the_url(page, server):
    cell = 509881736  # sweep 39
    page.goto(f"{server}/cell/{cell}/ephys/")
    drawn(page, fullResolution="0")
    page.evaluate(f"Plotly.relayout(document.querySelector('{PLOT}'), {{'xaxis.range': [1.04, 1.1]}})")
    state = drawn(page, fullResolution="1")
    assert state["points"] == 3001  # 60 ms at 50 kHz: every sample
    assert re.search(r"sweeps=39&start=1\.040000&end=1\.100000$", page.url)
    shot(page, "ephys-zoomed", selector=BROWSER)

    page.go_back()  # the whole sweep again
    state = drawn(page, fullResolution="0")
    assert "start=" not in page.url and state["points"] > 3000

    page.go_forward()
    state = drawn(page, fullResolution="1")
    assert [round(x, 3) for x in state["range"]] == [1.04, 1.1]
    assert page.errors == []


def test_a_shared_link_shows_the_same_zoomed_view(page, server):
    page.goto(f"{server}/cell/518290966/ephys/?sweeps=57&start=1.2&end=1.3")
    state = drawn(page, fullResolution="1")
    assert [round(x, 3) for x in state["range"]] == [1.2, 1.3] and state["points"] == 5001


def test_a_cell_without_a_recording_says_so_and_draws_its_f_i_curve(page, server):
    page.goto(f"{server}/cell/{TABLE_CELL}/ephys/")
    page.wait_for_selector("[data-ephys-curves][data-state=drawn]", timeout=60_000)
    assert "This copy holds no recording of this cell" in page.inner_text("[data-no-recording]")
    assert page.locator(".sweep-box[disabled]").count() == 123
    points = page.evaluate("document.querySelector('[data-fi-plot]').data[0].x.length")
    assert points == 21
    shot(page, "ephys-no-recording")
    assert page.errors == []


def test_the_voltage_clamp_recording_is_drawn_with_its_test_pulse(page, server):
    page.goto(f"{server}/")
    page.goto(f"{server}/cell/{_nwb_specimen(page, server)}/ephys/")
    drawn(page)
    assert page.is_visible("[data-voltage-clamp]")
    assert "10.01 MΩ" in page.inner_text("[data-test-pulse]")
    assert not page.is_visible("[data-spikes]")
    shot(page, "ephys-voltage-clamp")


def _nwb_specimen(page, server) -> int:
    query = urllib.parse.quote("model::Specimen,rma::criteria,[name$eq'valid_v2_MIES-NWBv2-0655f7e4']")
    body = page.evaluate(f"fetch({json.dumps(server + '/api/v2/data/query.json?q=' + query)}).then(r => r.json())")
    return body["msg"][0]["id"]


def test_following_the_link_to_an_nwb_file_not_held_shows_a_page_that_says_so(page, server):
    page.goto(f"{server}/cell/{TABLE_CELL}/ephys/")
    response_holder = {}
    page.on("response", lambda r: response_holder.setdefault(r.url, r.status) if "well_known_file" in r.url else None)
    page.click(".files a")
    page.wait_for_selector("[data-file-unavailable]")
    assert list(response_holder.values()) == [404]
    assert "This server does not hold" in page.inner_text("h1")
    shot(page, "ephys-nwb-not-held")


def test_the_tab_swapped_in_by_htmx_draws_the_sweep(page, server):
    page.goto(f"{server}/cell/526950199/")
    page.click('.tabs a[data-tab="ephys"]')
    state = drawn(page)
    assert "sweep 37" in state["names"][0] and state["markers"]["peak"] > 0
    assert page.url.endswith("/cell/526950199/ephys/")
    page.click('.tabs a[data-tab="overview"]')
    page.wait_for_selector('#cell-tab[data-tab="overview"]')
    page.go_back()  # htmx restores the ephys tab from its history: the plot is drawn again
    drawn(page)
    assert page.errors == []


def test_a_lab_upload_overlays_its_long_squares_coloured_by_amplitude_with_the_overlay_in_the_url(page, live):
    """A SYNTHETIC lab recording at 200 kHz imported with manage.py import_nwb: "Overlay all" draws its four Long
    Square sweeps at once, each coloured by its amplitude, the overlay in the URL (a reload shows the same). Each
    sweep (290,000 samples) is drawn before its spikes are found; their markers follow."""
    nwb = write_synthetic_nwb2(live.root / "synthetic_lab_cell.nwb", rate=200_000.0)
    done = subprocess.run(
        [sys.executable, "manage.py", "import_nwb", str(nwb), "--name", "synthetic lab cell"],
        cwd=REPO, env=demo_env(live.root), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    specimen = re.search(r"as specimen (\d+)", done.stdout)[1]
    page.goto(f"{live.url}/cell/{specimen}/ephys/")
    drawn(page)
    page.click('[data-overlay="Long Square"]')
    state = drawn(page, analysis="done")
    assert page.url.endswith(f"/cell/{specimen}/ephys/?sweeps=0,1,2,3") or "sweeps=0%2C1%2C2%2C3" in page.url
    lines = page.evaluate(
        f"""Array.from(document.querySelector('{PLOT}').data).filter(t => t.mode === 'lines' && t.yaxis === 'y')
        .map(t => [t.name, t.line.color])"""
    )
    assert [name for name, _ in lines] == [f"sweep {n} ({a:g} pA)" for n, a in enumerate(SYNTHETIC_AMPLITUDES)]
    assert len({colour for _, colour in lines}) == 4  # one colour per amplitude, the lowest and highest the ends
    assert (lines[0][1], lines[-1][1]) == ("rgb(68,1,84)", "rgb(253,231,37)")
    peaks = sum(count for name, count in state["markers"].items() if name.startswith("peak"))
    assert peaks == sum(synthetic_spike_counts())
    assert all(page.get_attribute(f'.sweep-box[data-sweep="{n}"]', "aria-pressed") == "true" for n in range(4))
    assert "a lab's own recording" in page.inner_text("[data-trace-status]")
    shot(page, "ephys-lab-upload-overlay", selector=BROWSER)

    page.reload()  # the link alone shows the same overlay
    state = drawn(page, analysis="done")
    assert len({n for n in state["names"] if n.startswith("sweep ")}) == 4
    assert page.errors == []


def test_the_search_cards_and_the_overview_show_the_trace_thumbnail_drawn_by_the_worker(page, server):
    """Cards of cells whose recording is held swap in the thumbnail (htmx, drawn by the Celery task, eager here);
    the others say "no recording held"."""
    page.goto(f"{server}/cells/?view=cards&q=509881736")
    page.wait_for_selector('.cell-card [data-ephys-thumb][data-state="ready"] img', timeout=60_000)
    caption = page.get_attribute(".cell-card [data-ephys-thumb] img", "title")
    assert caption.startswith("Drawn here from the held 815-2265 ms window") and "sweep 39" in caption
    image = "document.querySelector('.cell-card [data-ephys-thumb] img')"
    wait_until(page, f"{image}.complete && {image}.naturalWidth > 0", timeout=30_000)
    assert page.evaluate(f"{image}.naturalWidth") == 192
    shot(page, "ephys-thumbnail-card", selector=".cell-card")
    page.goto(f"{server}/cells/?view=cards")
    page.wait_for_selector(".cell-card", timeout=60_000)
    ids = page.evaluate("Array.from(document.querySelectorAll('.cell-card')).map(c => Number(c.dataset.specimenId))")
    nones = page.locator('.cell-card [data-ephys-thumb][data-state="none"]').count()
    assert nones == len([i for i in ids if i not in HELD]) > 0
    page.goto(f"{server}/cell/566517779/")
    page.wait_for_selector('[data-ephys-thumb][data-state="ready"] img', timeout=60_000)
    assert "sweep 46" in page.inner_text("[data-ephys-thumb] figcaption")
    shot(page, "ephys-thumbnail-overview", selector=".glance")
    assert page.errors == []
