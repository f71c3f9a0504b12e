"""Debian chromium driven by playwright (playwright's own browser download cannot work here)."""

import pytest

from tests.support.demo_server import CHROMIUM_ARGS, CHROMIUM_PATH


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM_PATH.exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh 1400x1000 page; `page.errors` collects uncaught JavaScript errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()
