"""The models tab in a real browser: a GLIF model of a demo cell, its plotted response and f-I curves, a run
named by its URL, a long run on the worker, a model drawn over a held recording (SYNTHETIC) with the explained
variance computed here, and the models Allen lists that this copy lacks. Screenshots go to var/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.demo_server import EAGER_CELERY, DemoServer, demo_server
from tests.support.synthetic_recording import (
    SYNTHETIC_CELL,
    SYNTHETIC_LONG_SQUARE_SPIKES,
    SYNTHETIC_NOISE_MODEL,
    SYNTHETIC_NWB_FILE_ID,
    write_synthetic_nwb,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
CELL = 464198958
GLIF3 = 566291897


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[DemoServer]:
    # an upstream that refuses connections: the fetch of missing models fails at once, saying so
    env = EAGER_CELERY | {"CELLTYPES_UPSTREAM": "http://127.0.0.1:9"}
    with demo_server(tmp_path_factory.mktemp("browser-models"), **env) as running:
        yield running


@pytest.fixture(scope="module")
def server(live) -> str:
    return live.url


def test_glif_model_response_and_fi_curves_are_plotted(server, page):
    page.goto(f"{server}/cell/{CELL}/models/?model={GLIF3}")
    page.wait_for_selector("[data-model-run][data-drawn]", timeout=30_000)
    page.wait_for_selector("[data-model-fi][data-drawn]", timeout=30_000)
    assert page.get_attribute(f'.model-selector [data-model="{GLIF3}"]', "aria-current") == "true"
    # the default stimulus: sweep 29 of the cell (70 pA for 1 s)
    assert page.get_attribute("[data-model-run]", "data-spike-count") == "26"
    assert "sweep 29" in page.inner_text("[data-run-status]")
    assert page.locator("[data-model-run] .main-svg").count() >= 1
    assert page.locator("[data-model-fi] .scatterlayer .trace").count() == 2  # recorded and model
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "models-glif.png"), full_page=True)
    assert page.errors == []


def test_a_run_url_with_a_form_choice_reproduces_the_run(server, page):
    page.goto(f"{server}/cell/{CELL}/models/?model={GLIF3}")
    page.wait_for_selector("[data-model-run][data-drawn]", timeout=30_000)
    page.select_option("select[name=stim]", "noise")
    page.fill("input[name=amp]", "100")
    page.fill("input[name=cv]", "0.5")
    page.fill("input[name=seed]", "3")
    page.fill("input[name=start]", "0.1")
    page.fill("input[name=dur]", "1")
    page.fill("input[name=total]", "1.2")
    page.click(".run-form button[type=submit]")
    page.wait_for_selector("[data-model-run][data-drawn]", timeout=30_000)
    assert "stim=noise" in page.url and "seed=3" in page.url
    assert page.get_attribute("[data-model-run]", "data-spike-count") == "45"
    url = page.url
    page.goto(url)
    page.wait_for_selector("[data-model-run][data-drawn]", timeout=30_000)
    assert page.get_attribute("[data-model-run]", "data-spike-count") == "45"
    page.screenshot(path=str(SCREENSHOTS / "models-glif-noise.png"), full_page=True)
    assert page.errors == []


@pytest.mark.slow
def test_a_perisomatic_model_runs_in_the_page(server, page):
    """Eager Celery in the server: the run (and the one-time mechanism build) happens in the JSON request."""
    query = "stim=step&amp=300&start=0.02&dur=0.1&total=0.15"
    page.goto(f"{server}/cell/{CELL}/models/?model=472450023&{query}")
    page.wait_for_selector("[data-model-run][data-drawn]", timeout=120_000)
    assert page.get_attribute("[data-model-run]", "data-spike-count") == "12"
    assert "on the worker" in page.inner_text("[data-run-status]")
    page.screenshot(path=str(SCREENSHOTS / "models-perisomatic.png"), full_page=True)
    assert page.errors == []


def test_the_models_tab_swapped_in_by_htmx_draws_its_plots(server, page):
    page.goto(f"{server}/cell/{CELL}/")
    page.click('.tabs a[data-tab="models"]')
    page.wait_for_selector("[data-model-run][data-drawn]", timeout=30_000)
    page.wait_for_selector("[data-model-fi][data-drawn]", timeout=30_000)
    assert page.url.endswith(f"/cell/{CELL}/models/")
    assert page.errors == []


def test_a_long_glif_run_goes_to_the_worker_and_is_drawn(server, page):
    query = "stim=step&amp=100&start=1&dur=20&total=25"  # 500,000 steps: over the inline limit
    page.goto(f"{server}/cell/{CELL}/models/?model={GLIF3}&{query}")
    page.wait_for_selector("[data-model-run][data-drawn]", timeout=60_000)
    assert "simulated on the worker" in page.inner_text("[data-run-status]")
    assert int(page.get_attribute("[data-model-run]", "data-spike-count")) > 100
    assert page.errors == []


def test_a_glif_model_is_drawn_over_a_held_recording_with_its_explained_variance(live, page):
    """The recording is SYNTHETIC (tests/support/synthetic_recording.py), held for this test only."""
    held = live.local_file(SYNTHETIC_NWB_FILE_ID)
    write_synthetic_nwb(held)
    try:
        page.goto(f"{live.url}/cell/{SYNTHETIC_CELL}/models/?model={SYNTHETIC_NOISE_MODEL}")
        page.wait_for_selector("[data-model-run][data-drawn]", timeout=30_000)
        page.wait_for_selector("[data-model-ev][data-ratio]", timeout=60_000)
        run = page.locator("[data-model-run]")
        assert run.get_attribute("data-recorded-spike-count") == str(SYNTHETIC_LONG_SQUARE_SPIKES)
        assert page.locator("[data-model-run] .scatterlayer .trace").count() == 4  # recording, model, spikes, stimulus
        assert "recorded sweep 29" in page.inner_text("[data-run-status]")
        assert page.get_attribute("[data-model-ev]", "data-ratio") == "1"
        assert page.inner_text('[data-metric="explained_variance_ratio"]') == "0.698"
        page.screenshot(path=str(SCREENSHOTS / "models-recorded.png"), full_page=True)
        assert page.errors == []
    finally:
        held.unlink(missing_ok=True)


def test_models_allen_lists_that_are_not_held_offer_a_fetch_that_reports_failure(server, page):
    page.goto(f"{server}/cell/485574832/models/")
    assert "GLIF: 4 of 5 not held" in page.inner_text(".model-missing")
    page.click(".model-fetch button[type=submit]")  # the server's upstream refuses connections
    page.wait_for_selector(".model-fetch [role=alert]", timeout=30_000)
    assert "The models cannot be fetched" in page.inner_text(".model-fetch [role=alert]")
    page.screenshot(path=str(SCREENSHOTS / "models-missing.png"), full_page=True)
    assert page.errors == []
