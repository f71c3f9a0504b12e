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

from tests.browser.conftest import wait_until
from tests.support.demo_server import EAGER_CELERY, build_demo_database, demo_env, demo_server
from tests.support.image_upstream import ImageUpstream, image_upstream
from tests.support.synthetic_jpeg import synthetic_jpeg

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
DRAWN = 488683425  # its SWC is held: drawn here, no images of Allen's listed
IMAGED = 464198958  # given synthetic image records below
DATA_SET = 995_000_000_001
PROJECTIONS = {995_000_000_101: "Minimum Intensity Projection (synthetic)", 995_000_000_102: "Maximum (synthetic)"}
PLANES = [995_000_000_201 + n for n in range(5)]
WIDTH, HEIGHT = 640, 480


def _disc(centre_x: int, centre_y: int, radius: float, inside: int, outside: int):
    def shade(bx: int, by: int) -> int:
        return inside if (bx - centre_x) ** 2 + (by - centre_y) ** 2 <= radius**2 else outside

    return shade


def _images(stub: ImageUpstream) -> None:
    """Synthetic JPEGs: a dark disc on light ground (minimum projection), its negative (maximum), and five planes
    whose disc grows, so stepping through the stack is visible."""
    stub.images[995_000_000_101] = synthetic_jpeg(WIDTH, HEIGHT, _disc(40, 30, 18, 40, 225))
    stub.images[995_000_000_102] = synthetic_jpeg(WIDTH, HEIGHT, _disc(40, 30, 18, 230, 20))
    for n, plane in enumerate(PLANES[:-1]):  # the last plane is listed but the upstream cannot give it
        stub.images[plane] = synthetic_jpeg(WIDTH, HEIGHT, _disc(40, 30, 4 + 4 * n, 60, 210 - 10 * n))


def _records(env: dict[str, str]) -> None:
    import sqlite3

    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        db.execute(
            "INSERT INTO data_sets (id, name, specimen_id, failed, delegate, expression) VALUES (?, ?, ?, 0, 0, 0)",
            (DATA_SET, "synthetic image stack", IMAGED),
        )
        columns = "id, annotated, failed, image_type, width, height, image_width, image_height, section_number"
        for image_id, image_type in PROJECTIONS.items():
            db.execute(
                f"INSERT INTO projection_images ({columns}, specimen_id, data_set_id) "
                "VALUES (?, 0, 0, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (image_id, image_type, WIDTH, HEIGHT, WIDTH, HEIGHT, IMAGED, DATA_SET),
            )
        for n, plane in enumerate(PLANES):
            db.execute(
                f"INSERT INTO sub_images ({columns}, data_set_id) VALUES (?, 0, 0, 'Primary', ?, ?, ?, ?, ?, ?)",
                (plane, WIDTH, HEIGHT, WIDTH, HEIGHT, 100 + n, DATA_SET),
            )


@pytest.fixture(scope="module")
def upstream() -> Iterator[ImageUpstream]:
    with image_upstream() as stub:
        _images(stub)
        yield stub


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser-morphology-images")
    env = demo_env(root, **EAGER_CELERY)
    build_demo_database(env)
    _records(env)
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
