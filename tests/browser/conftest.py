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


def wait_until(page, expression: str, *, timeout: float = 10_000) -> None:
    """Wait until the JavaScript `expression` is truthy in the page.

    Playwright's `page.wait_for_function` with a string polls by evaluating it inside the page, which the site's
    Content-Security-Policy (no 'unsafe-eval') refuses; `page.evaluate` goes through the DevTools protocol instead.
    """
    import time

    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout / 1000:g} s waiting for: {expression}")
        page.wait_for_timeout(100)
