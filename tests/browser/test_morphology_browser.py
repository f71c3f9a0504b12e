"""The morphology tab and the search cards' previews in a real browser (Debian chromium driven by playwright).

A module fixture builds its own SQLite file and file store with the demo set and serves them with `manage.py
runserver`. Celery runs eagerly in that server (CELERY_TASK_ALWAYS_EAGER=1, CELERY_BROKER_URL=memory://): the first
fragment request queues the preview render, which then runs in that request, so the page still goes through the
pending fragment, its poll, and the swap to the <img>. WebGL comes from chromium's software renderer (SwiftShader).
Screenshots go to var/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import wait_until
from tests.support.demo_server import EAGER_CELERY, demo_server

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
MARKED = 488683425  # current reconstruction, SWC + marker file (cut dendrite and no-reconstruction markers)
LARGE = 485184849  # 10,671-node SWC of an older reconstruction
PLOT = ".js-plotly-plot"
CAMERA = f"document.querySelector('{PLOT}').layout.scene.camera"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """A throwaway SQLite file and file store with the demo set, served by runserver (DEBUG off, eager Celery)."""
    with demo_server(tmp_path_factory.mktemp("browser-morphology"), **EAGER_CELERY) as live:
        yield live.url


def shot(page, name: str, *, full_page: bool = False, selector: str | None = None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    if selector:
        page.locator(selector).screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=full_page)


def open_tab(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-morphology-viewer][data-viewer-state=ready]", timeout=60_000)
    page.wait_for_selector(f"{PLOT} .main-svg", state="attached")
    page.wait_for_selector(f"{PLOT} canvas", state="attached")


def click_view(page, view: str) -> dict:
    before = page.evaluate(f"JSON.stringify({CAMERA})")
    page.click(f'[data-view="{view}"]')
    wait_until(page, f"JSON.stringify({CAMERA}) !== {before!r}")
    page.wait_for_timeout(300)  # let the scene redraw before a screenshot
    assert page.get_attribute(f'[data-view="{view}"]', "aria-pressed") == "true"
    return page.evaluate(CAMERA)


def test_the_3d_view_draws_every_compartment_and_the_markers_and_switches_views(page, server):
    open_tab(page, f"{server}/cell/{MARKED}/morphology/")
    names = page.evaluate(f"document.querySelector('{PLOT}').data.map(t => t.name)")
    assert {"soma", "axon", "basal dendrite", "apical dendrite", "cut dendrite", "no reconstruction"} <= set(names)
    colours = page.evaluate(
        f"Object.fromEntries(document.querySelector('{PLOT}').data.map(t => [t.name, (t.line || t.marker).color]))"
    )
    assert colours["soma"] == "#000000" and colours["axon"] == "#1f77b4"
    assert colours["basal dendrite"] == "#d62728" and colours["apical dendrite"] == "#e377c2"
    assert len(set(colours.values())) >= 6  # every trace in its own colour
    assert page.locator(f"{PLOT} .legend .traces").count() == len(names)  # a legend entry per trace
    assert page.get_attribute('[data-view="front"]', "aria-pressed") == "true"
    front = page.evaluate(CAMERA)
    assert front["projection"]["type"] == "orthographic"
    shot(page, "morphology-front", full_page=True)

    top = click_view(page, "top")
    assert top["projection"]["type"] == "orthographic" and top["eye"]["z"] > 0 and abs(top["eye"]["x"]) < 1e-6
    shot(page, "morphology-top", selector=".morph-viewer")
    side = click_view(page, "side")
    assert side["projection"]["type"] == "orthographic" and side["eye"]["x"] > 0 and side["eye"]["y"] == 0
    shot(page, "morphology-side", selector=".morph-viewer")
    perspective = click_view(page, "3d")
    assert perspective["projection"]["type"] == "perspective"
    shot(page, "morphology-3d", selector=".morph-viewer")
    again = click_view(page, "front")
    assert again["projection"]["type"] == "orthographic" and again["eye"] == front["eye"]
    # Every switch left the traces drawn (plotly keeps the data; the scene still has its WebGL canvas).
    assert page.evaluate(f"document.querySelector('{PLOT}').data.length") == len(names)
    assert page.errors == []


def test_the_view_starts_when_the_tab_is_swapped_in_by_htmx(page, server):
    page.goto(f"{server}/cell/{MARKED}/")
    page.evaluate("window.__noReload = true")
    page.click('nav.tabs a[data-tab="morphology"]')
    page.wait_for_selector("[data-morphology-viewer][data-viewer-state=ready]", timeout=60_000)
    assert page.evaluate("window.__noReload") is True  # htmx swapped the tab in; morphology.js saw htmx:load
    click_view(page, "side")
    # Swapping the tab away frees the plot's WebGL context.
    page.evaluate(
        "() => { window.__purged = 0; const purge = Plotly.purge;"
        " Plotly.purge = element => { window.__purged += 1; return purge(element); }; }"
    )
    page.click('nav.tabs a[data-tab="models"]')
    page.wait_for_selector('#cell-tab[data-tab="models"]')
    assert page.evaluate("window.__purged") == 1
    assert page.errors == []


def test_the_preview_fragments_end_in_images(page, server):
    page.goto(f"{server}/cell/{MARKED}/morphology/")
    for plane in ("xy", "yz"):
        page.wait_for_selector(
            f'figure.morphology-preview[data-plane="{plane}"][data-state="ready"] img', timeout=30_000
        )
        size = page.evaluate(
            f"(() => {{ const img = document.querySelector('figure[data-plane=\"{plane}\"] img');"
            " return [img.complete, img.naturalWidth, img.naturalHeight]; })()"
        )
        assert size == [True, 300, 300], plane
    assert page.locator('figure.morphology-preview[data-state="pending"]').count() == 0
    shot(page, "morphology-projections", selector=".morph-projections")


def test_the_large_older_reconstruction_renders_with_its_note(page, server):
    open_tab(page, f"{server}/cell/{LARGE}/morphology/")
    assert "an older reconstruction of the cell" in page.inner_text("[data-comparison-note]")
    points = page.evaluate(
        f"document.querySelector('{PLOT}').data.reduce((n, t) => n + t.x.filter(v => v !== null).length, 0)"
    )
    assert points >= 10_671
    assert page.inner_text(".depth figcaption").startswith("Soma depth 0.299")
    shot(page, "morphology-large", full_page=True)
    click_view(page, "3d")
    shot(page, "morphology-large-3d", selector=".morph-viewer")
    assert page.errors == []


def test_the_tab_without_javascript_shows_facts_table_and_projections(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{server}/cell/{MARKED}/morphology/")
    assert page.locator('[data-fact="specimen_id"] dd').inner_text() == str(MARKED)
    assert page.locator("tr[data-feature]").count() == 22
    assert "needs JavaScript" in page.inner_text(".morph-viewer")
    page.wait_for_load_state("load")
    for plane in ("xy", "yz"):  # rendered ones, else <noscript> images straight from /swc_projection/
        assert page.evaluate(
            f"[...document.images].some(i => i.src.endsWith('/{plane}.png') && i.complete && i.naturalWidth === 300)"
        ), plane
    shot(page, "morphology-no-javascript", full_page=True)
    context.close()


def test_search_cards_show_the_xy_preview_of_cells_with_a_held_swc(page, server):
    url = f"{server}/cells/?line=Rbp4-Cre_KL100&reconstruction=dendrite-only"
    page.goto(url)
    cards = page.locator(".cell-card").count()
    held = [471129934, 479704527, 485574832, 488683425]
    for specimen_id in held:
        page.wait_for_selector(f'[data-specimen-id="{specimen_id}"] img.morph-thumb', timeout=30_000)
        # the <img> is swapped in before its PNG has loaded: wait for the picture itself (a loaded machine is slow)
        image = f"document.querySelector('[data-specimen-id=\"{specimen_id}\"] img.morph-thumb')"
        wait_until(page, f"{image} && {image}.complete && {image}.naturalWidth > 0", timeout=30_000)
    page.wait_for_load_state("networkidle")
    thumbs = page.evaluate(
        "[...document.querySelectorAll('img.morph-thumb')].map(i => [i.closest('[data-specimen-id]')"
        ".dataset.specimenId, i.complete && i.naturalWidth > 0])"
    )
    assert sorted(int(s) for s, ok in thumbs if ok) == held
    assert page.url == url  # the thumbnails neither replaced the results nor pushed a history entry
    assert page.locator(".cell-card").count() == cards
    assert page.locator(".cell-card [data-no-picture]").count() == cards  # "no picture" beneath, never a cartoon
    broken = page.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth === 0).length")
    assert broken == 0
    shot(page, "search-cards-previews")
