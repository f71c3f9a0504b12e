"""The real AllenSDK 2.16.2's ImageDownloadApi and RmaApi against a live server of ours that lists a cell's images.

The demo set holds no image of Allen's: one cell is given synthetic image records and the server's upstream is a
loopback stand-in serving synthetic JPEGs (tests/support/image_upstream.py). The SDK lists the images through RMA
and downloads them with Allen's parameters; the server fetches each through from the upstream once.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Iterator

import pytest

from tests.support.demo_server import build_demo_database, demo_env, demo_server
from tests.support.image_upstream import (
    DATA_SET,
    PLANES,
    PROJECTIONS,
    ImageUpstream,
    image_upstream,
    synthetic_cell_images,
    synthetic_image_records,
)

pytestmark = pytest.mark.compat

IMAGED = 464198958


@pytest.fixture(scope="module")
def upstream() -> Iterator[ImageUpstream]:
    with image_upstream() as stub:
        synthetic_cell_images(stub)
        yield stub


@pytest.fixture(scope="module")
def server(tmp_path_factory, upstream, sdk_python) -> Iterator[str]:
    root = tmp_path_factory.mktemp("live-images")
    env = demo_env(root)
    build_demo_database(env)
    synthetic_image_records(env["DATABASE_URL"].removeprefix("sqlite:///"), IMAGED)
    with demo_server(root, server="gunicorn", CELLTYPES_UPSTREAM=upstream.url) as live:
        yield live.url


SCRIPT = """
import json, sys
from allensdk.api.queries.image_download_api import ImageDownloadApi
from allensdk.api.queries.rma_api import RmaApi

BASE, PLANE, PROJECTION, DATA_SET, IMAGED = sys.argv[1], *map(int, sys.argv[2:6])
api = ImageDownloadApi(base_uri=BASE)
rma = RmaApi(base_uri=BASE)
out = {}
out["section_images"] = [row["id"] for row in api.section_image_query(DATA_SET)]
out["projections"] = [row["id"] for row in rma.model_query("ProjectionImage", criteria=f"[specimen_id$eq{IMAGED}]")]
out["stack"] = [
    row["section_number"]
    for row in rma.model_query("SubImage", criteria=f"data_set[specimen_id$eq{IMAGED}]", order=["'section_number'"])
]
api.download_section_image(PLANE, file_path="plane.jpg", downsample=1, quality=50, range=[0, 923, 0, 987, 0, 4095])
api.download_image(PROJECTION, file_path="projection.jpg", downsample=2, view="projection", left=8, top=8,
                   width=64, height=64)
api.download_projection_image(PROJECTION, file_path="projection_service.jpg", downsample=3)
out["projection_service"] = open("projection_service.jpg", "rb").read().hex()
out["plane"] = open("plane.jpg", "rb").read().hex()
out["projection"] = open("projection.jpg", "rb").read().hex()
try:
    api.download_section_image(int(sys.argv[6]), file_path="missing.jpg")
except Exception as exc:
    out["missing"] = type(exc).__name__ + ": " + str(exc)
print(json.dumps(out))
"""


def test_the_sdk_lists_and_downloads_a_cells_images(server, upstream, sdk_python, tmp_path):
    script = tmp_path / "images.py"
    script.write_text(textwrap.dedent(SCRIPT))
    projection = next(iter(PROJECTIONS))
    args = [str(sdk_python), str(script), server, str(PLANES[0]), str(projection), str(DATA_SET), str(IMAGED)]
    done = subprocess.run([*args, str(PLANES[-1])], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["section_images"] == PLANES
    assert out["projections"] == list(PROJECTIONS)
    assert out["stack"] == [100, 101, 102, 103, 104]
    assert bytes.fromhex(out["plane"]) == upstream.images[PLANES[0]]
    assert bytes.fromhex(out["projection"]) == upstream.images[projection]
    assert bytes.fromhex(out["projection_service"]) == upstream.images[projection]
    assert (f"/api/v2/projection_image_download/{projection}", {"downsample": "3"}) in upstream.requests
    assert "502" in out["missing"]  # listed, but the upstream cannot give it: an HTTP error the SDK raises
    assert (
        f"/api/v2/section_image_download/{PLANES[0]}",
        {"downsample": "1", "quality": "50", "range": "0,923,0,987,0,4095"},
    ) in upstream.requests
    assert (
        f"/api/v2/image_download/{projection}",
        {"downsample": "2", "view": "projection", "left": "8", "top": "8", "width": "64", "height": "64"},
    ) in upstream.requests
