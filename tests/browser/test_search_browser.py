"""The cell search and the cell page in a real browser (Debian chromium driven by playwright).

A module fixture builds its own SQLite file with the demo set and serves it with `manage.py runserver`; counts are
checked against that file with plain sqlite3. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.demo_server import DemoServer, demo_server

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
TABLE = "api_cell_types_specimen_details"


class Server(DemoServer):
    def count(self, where: str = "1=1", params: tuple = ()) -> int:
        return self.sql(f"SELECT count(*) FROM {TABLE} WHERE {where}", params)[0][0]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """A throwaway SQLite file with the demo set, served by runserver on a free port (DEBUG off)."""
    with demo_server(tmp_path_factory.mktemp("browser-search")) as live:
        yield Server(live.url, live.root)


def shot(page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def total(page) -> int:
    return int(page.get_attribute("[data-total]", "data-total"))


def facet_counts(page, facet: str) -> dict[str, int]:
    links = page.locator(f'section[data-facet="{facet}"] a.facet-value')
    return {
        links.nth(i).get_attribute("data-value"): int(links.nth(i).get_attribute("data-count"))
        for i in range(links.count())
    }


def specimen_ids(page) -> list[str]:
    return page.locator("[data-specimen-id]").evaluate_all("els => els.map(e => e.dataset.specimenId)")


def click_facet(page, facet: str, value: str, expected_total: int) -> None:
    page.click(f'section[data-facet="{facet}"] a[data-value="{value}"]')
    page.wait_for_selector(f'[data-total="{expected_total}"]')
    page.wait_for_load_state("networkidle")


HUMAN = "\"donor__species\" = 'Homo Sapiens'"
SPINY = "\"tag__dendrite_type\" = 'spiny'"


def test_facets_update_results_counts_and_url_without_reloading(page, server):
    page.goto(f"{server.url}/cells/")
    assert total(page) == server.count() == 2333
    shot(page, "search-start")
    page.evaluate("window.__noReload = true")

    human = server.count(HUMAN)
    click_facet(page, "species", "human", human)
    assert page.url == f"{server.url}/cells/?species=human"
    assert page.evaluate("window.__noReload") is True  # htmx swapped the results; no full page load

    human_spiny = server.count(f"{HUMAN} AND {SPINY}")
    click_facet(page, "dendrite", "spiny", human_spiny)
    assert page.url == f"{server.url}/cells/?species=human&dendrite=spiny"
    assert page.evaluate("window.__noReload") is True
    assert facet_counts(page, "dendrite") == {
        value: server.count(f'{HUMAN} AND "tag__dendrite_type" = ?', (value,))
        for value in ("spiny", "aspiny", "sparsely spiny")
    }
    assert facet_counts(page, "species") == {
        "mouse": server.count(f"\"donor__species\" = 'Mus musculus' AND {SPINY}"),
        "human": human_spiny,
    }
    assert page.get_attribute('section[data-facet="species"] a[data-value="human"]', "aria-pressed") == "true"
    shot(page, "search-human-spiny", full_page=True)

    # A pasted link gives the same view.
    shared = page.context.new_page()
    shared.goto(page.url)
    assert total(shared) == human_spiny
    assert specimen_ids(shared) == specimen_ids(page)
    assert facet_counts(shared, "dendrite") == facet_counts(page, "dendrite")
    shared.close()

    # Back and forward walk through the facet states.
    page.go_back()
    page.wait_for_selector(f'[data-total="{human}"]')
    assert page.url == f"{server.url}/cells/?species=human"
    page.go_forward()
    page.wait_for_selector(f'[data-total="{human_spiny}"]')
    assert page.url.endswith("?species=human&dendrite=spiny")


def test_cell_page_tabs_and_back_to_the_search(page, server):
    search_url = f"{server.url}/cells/?species=human&dendrite=spiny"
    page.goto(search_url)
    expected = total(page)
    first = page.locator(".cell-card").first
    name = first.locator(".cell-name a").inner_text()
    first.locator(".cell-name a").click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/cell/\d+/\?back=species%3Dhuman%26dendrite%3Dspiny$", page.url)
    assert name in page.title()
    assert page.inner_text('[data-fact="dendrite_type"] dd') == "spiny"
    shot(page, "cell-overview", full_page=True)
    cell_url = page.url.split("?")[0]

    page.evaluate("window.__noReload = true")
    for tab in ("ephys", "morphology", "models"):
        page.click(f'nav.tabs a[data-tab="{tab}"]')
        page.wait_for_selector(f'#cell-tab[data-tab="{tab}"]')
        assert page.url.startswith(f"{cell_url}{tab}/?back=")
        assert page.get_attribute(f'nav.tabs a[data-tab="{tab}"]', "aria-current") == "page"
        shot(page, f"cell-{tab}", full_page=True)
    assert page.evaluate("window.__noReload") is True

    page.go_back()
    page.wait_for_selector('#cell-tab[data-tab="morphology"]')
    assert page.url.startswith(f"{cell_url}morphology/")
    page.go_back()
    page.go_back()
    page.wait_for_selector('#cell-tab[data-tab="overview"]')
    page.go_back()
    page.wait_for_selector(f'[data-total="{expected}"]')
    assert page.url == search_url
    assert page.get_attribute('section[data-facet="dendrite"] a[data-value="spiny"]', "aria-pressed") == "true"

    # The page's own back link keeps the filters too.
    page.goto(f"{cell_url}models/?back=species%3Dhuman%26dendrite%3Dspiny")
    page.click("a[data-back]")
    page.wait_for_selector(f'[data-total="{expected}"]')
    assert page.url == search_url


def test_table_view_sorts_by_clicking_a_header(page, server):
    page.goto(f"{server.url}/cells/?species=mouse")
    page.click(".view-switch >> text=Table")
    page.wait_for_selector(".results-table")
    assert page.url.endswith("?species=mouse&view=table")
    page.click('th a[data-sort="tau"]')
    page.wait_for_url(lambda url: "sort=tau" in url)
    page.wait_for_load_state("networkidle")
    page.click('th a[data-sort="tau"]')
    page.wait_for_url(lambda url: "dir=desc" in url)
    page.wait_for_load_state("networkidle")
    with sqlite3.connect(server.db_path) as db:
        top = db.execute(
            f'SELECT "specimen__id" FROM {TABLE} WHERE "donor__species"=\'Mus musculus\' '
            'ORDER BY "ef__tau" IS NULL, "ef__tau" DESC, "specimen__id" LIMIT 1'
        ).fetchone()[0]
    assert specimen_ids(page)[0] == str(top)
    shot(page, "search-table-tau-desc")
    # The table fits its column: no horizontal scroll on the page itself.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_text_search_updates_as_you_type_and_keeps_the_facets(page, server):
    page.goto(f"{server.url}/cells/?dendrite=aspiny")
    page.fill("#q", "Pvalb")
    expected = server.count(
        "\"tag__dendrite_type\"='aspiny' AND (line_name LIKE '%Pvalb%' OR \"specimen__name\" LIKE '%Pvalb%')"
    )
    page.wait_for_selector(f'[data-total="{expected}"]')
    assert "q=Pvalb" in page.url and "dendrite=aspiny" in page.url
    assert page.evaluate("document.activeElement.id") == "q"
    shot(page, "search-text-pvalb")


def test_back_and_forward_restore_the_search_text_with_the_results(page, server):
    from playwright.sync_api import expect  # no string predicates: the Content-Security-Policy forbids eval

    page.goto(f"{server.url}/cells/")
    page.fill("#q", "Pvalb")
    page.wait_for_url(lambda url: "q=Pvalb" in url)
    page.wait_for_load_state("networkidle")
    page.fill("#q", "Sst")
    page.wait_for_url(lambda url: "q=Sst" in url)
    page.wait_for_load_state("networkidle")
    page.go_back()
    page.wait_for_url(lambda url: "q=Pvalb" in url)
    expect(page.locator("#q")).to_have_value("Pvalb")
    page.go_forward()
    page.wait_for_url(lambda url: "q=Sst" in url)
    expect(page.locator("#q")).to_have_value("Sst")


def test_search_works_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{server.url}/cells/")
    page.click('section[data-facet="species"] a[data-value="human"]')
    page.wait_for_url(f"{server.url}/cells/?species=human")
    assert total(page) == server.count(HUMAN)
    page.click('section[data-facet="disease"] a[data-value="epilepsy"]')
    page.wait_for_url(f"{server.url}/cells/?species=human&disease=epilepsy")
    assert total(page) == 350
    page.fill("#q", "MTG")
    page.click("#search-form button")
    page.wait_for_url(re.compile(r"q=MTG"))
    assert "species=human" in page.url and "disease=epilepsy" in page.url
    assert total(page) == server.count(
        f"{HUMAN} AND \"donor__disease_state\"='epilepsy' AND \"structure_parent__acronym\"='MTG'"
    )
    shot(page, "search-no-javascript")
    page.locator(".cell-name a").first.click()
    page.wait_for_load_state()
    assert page.locator('[data-fact="species"] dd').inner_text() == "Homo Sapiens"
    page.click('nav.tabs a[data-tab="ephys"]')
    page.wait_for_url(re.compile(r"/ephys/"))
    assert page.locator("[data-feature]").count() > 0
    context.close()


@pytest.mark.parametrize("tab", ["", "ephys/", "morphology/", "models/"])
def test_cell_with_reconstruction_and_models_renders_every_tab(page, server, tab):
    page.goto(f"{server.url}/cell/464198958/{tab}")
    assert page.locator("#cell-tab").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, f"cell-464198958-{tab.strip('/') or 'overview'}", full_page=True)


def test_unknown_cell_shows_the_404_page_with_search(page, server):
    response = page.goto(f"{server.url}/cell/123/")
    assert response.status == 404
    assert page.locator("form[role=search] input[name=q]").count() == 1
    shot(page, "cell-404")


def test_narrow_screen_layout(browser, server):
    context = browser.new_context(viewport={"width": 420, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/cells/?species=human")
    shot(page, "search-narrow")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.goto(f"{server.url}/cell/313862022/")
    shot(page, "cell-narrow")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()
