"""The morphology tab's pictures in a real browser, each labelled for what it is: our drawing of an SWC, and
Allen's projection images and image stack fetched through from an upstream.

The demo set holds no image of Allen's, so one cell is given synthetic image records (written into the throwaway
database before the server starts) and the server's upstream is a loopback stand-in serving synthetic JPEGs
(tests/support/image_upstream.py). Screenshots go to var/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from celltypes.atlas.vocabulary import ALLEN_STACK_LABEL
from tests.browser.conftest import wait_until
from tests.support.demo_server import EAGER_CELERY, build_demo_database, demo_env, demo_server
from tests.support.image_upstream import (
    PLANES,
    PROJECTIONS,
    WIDTH,
    ImageUpstream,
    image_upstream,
    synthetic_cell_images,
    synthetic_image_records,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
DRAWN = 488683425  # its SWC is held: drawn here, no images of Allen's listed
IMAGED = 464198958  # given synthetic image records (tests/support/image_upstream.py)


@pytest.fixture(scope="module")
def upstream() -> Iterator[ImageUpstream]:
    with image_upstream() as stub:
        synthetic_cell_images(stub)
        yield stub


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser-morphology-images")
    env = demo_env(root, **EAGER_CELERY)
    build_demo_database(env)
    synthetic_image_records(env["DATABASE_URL"].removeprefix("sqlite:///"), IMAGED)
    with demo_server(root, CELLTYPES_UPSTREAM=upstream.url, **EAGER_CELERY) as live:
        yield live.url


def shot(page, name: str, selector: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(selector).screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def loaded(selector: str, width: int) -> str:
    return f"[...document.querySelectorAll('{selector}')].every(i => i.complete && i.naturalWidth === {width})"


def test_our_drawings_of_the_swc_are_labelled_as_ours(page, server):
    page.goto(f"{server}/cell/{DRAWN}/morphology/")
    figures = "[data-drawn-projections] .morphology-preview"
    wait_until(page, f"document.querySelectorAll('{figures}[data-state=ready] img').length === 2", timeout=60_000)
    wait_until(page, loaded(f"{figures} img", 300))
    captions = page.locator(f"{figures} figcaption").all_inner_texts()
    assert captions == ["XY projection · drawn here from the SWC", "YZ projection · drawn here from the SWC"]
    assert "drawn here from the SWC" in page.inner_text("[data-drawn-projections] h3")
    assert page.locator("[data-allen-projections], [data-image-stack]").count() == 0
    shot(page, "morphology-drawn-projections", "[data-drawn-projections]")
    assert page.errors == []


def test_allens_projections_and_the_image_stack_viewer(page, server, upstream):
    page.goto(f"{server}/cell/{IMAGED}/morphology/")
    projections = page.locator("[data-allen-projections] figure")
    assert projections.count() == 2 and page.locator("[data-drawn-projections]").count() == 0
    wait_until(page, loaded("[data-allen-projections] img", WIDTH))
    captions = projections.locator("figcaption").all_inner_texts()
    assert captions == [f"Allen's projection image · {name}" for name in PROJECTIONS.values()]
    shot(page, "morphology-allen-projections", "[data-allen-projections]")

    stack = page.locator("[data-image-stack]")
    stack.scroll_into_view_if_needed()
    wait_until(page, "!document.querySelector('[data-stack-toolbar]').hidden")
    image = "document.querySelector('[data-stack-image]')"
    assert stack.locator("[data-stack-position]").inner_text() == "plane 1 of 5"
    assert page.is_disabled('[data-stack-step="-1"]') and page.is_disabled('[data-stack-zoom="-1"]')
    wait_until(page, loaded("[data-stack-image]", WIDTH))
    assert page.evaluate(f"{image}.getBoundingClientRect().width") == WIDTH / 2  # downsampled once to fit
    shot(page, "morphology-image-stack-plane-1", "[data-image-stack]")

    page.click('[data-stack-step="1"]')
    page.click('[data-stack-step="1"]')
    assert stack.locator("[data-stack-position]").inner_text() == "plane 3 of 5"
    assert stack.locator("[data-stack-section]").inner_text() == "102"
    assert stack.locator("[data-stack-image]").get_attribute("alt") == f"{ALLEN_STACK_LABEL}: section 102"
    wait_until(page, f"{image}.src.endsWith('/api/v2/section_image_download/{PLANES[2]}?downsample=1')")
    wait_until(page, loaded("[data-stack-image]", WIDTH))

    page.click('[data-stack-zoom="1"]')  # twice the size, with the pixels of one halving less
    wait_until(page, f"{image}.src.endsWith('{PLANES[2]}?downsample=0')")
    wait_until(page, loaded("[data-stack-image]", WIDTH))
    assert page.evaluate(f"{image}.getBoundingClientRect().width") == WIDTH
    assert stack.locator("[data-stack-zoom-level]").inner_text() == "2×"
    page.focus("[data-stack-frame]")
    page.keyboard.press("ArrowRight")
    assert stack.locator("[data-stack-position]").inner_text() == "plane 4 of 5"
    shot(page, "morphology-image-stack-zoomed", "[data-image-stack]")

    page.keyboard.press("ArrowRight")  # the last plane: listed, but the upstream cannot give it
    assert stack.locator("[data-stack-position]").inner_text() == "plane 5 of 5"
    wait_until(page, "document.querySelector('[data-image-stack]').dataset.imageState === 'unavailable'")
    assert "cannot show this image of Allen's" in stack.locator("[data-image-unavailable]").inner_text()
    assert page.is_disabled('[data-stack-step="1"]')
    shot(page, "morphology-image-stack-unavailable", "[data-image-stack]")
    page.keyboard.press("ArrowLeft")
    wait_until(page, "document.querySelector('[data-image-stack]').dataset.imageState === 'shown'")
    assert stack.locator("[data-image-unavailable]").count() == 0

    # Every picture came through the upstream once per image and parameter set.
    asked = {(path.rsplit("/", 1)[-1], params.get("downsample")) for path, params in upstream.requests}
    assert {(str(PLANES[2]), "1"), (str(PLANES[2]), "0"), (str(PLANES[3]), "0"), (str(PLANES[4]), "0")} <= asked
    assert len(upstream.requests) == len(asked)
    assert page.errors == []
