"""Rendered projections: the file store, the htmx fragment that polls for them, the real worker, the APIs."""

import json
import os
import struct
import time
import xml.etree.ElementTree as ET

import pytest

from celltypes.atlas import filestore
from celltypes.atlas.models import WellKnownFile
from celltypes.atlas.selectors.morphology import morphology_preview_path
from celltypes.atlas.services.morphology import PREVIEW_LOCK_SECONDS, morphology_preview_render
from celltypes.science.errors import InvalidFileError
from celltypes.science.swc import read_swc
from tests.integration.morphology.demo_cells import (
    LARGE_RECONSTRUCTION,
    LARGE_SPECIMEN,
    LARGE_SWC_PATH,
    MARKS,
    OLDER_RECONSTRUCTION,
    OLDER_SPECIMEN,
    PUBLISHED_MARKER,
    PUBLISHED_RECONSTRUCTION,
    PUBLISHED_SPECIMEN,
    PUBLISHED_SWC,
    PUBLISHED_SWC_PATH,
    clear_previews,
    corrupted,
    replace_held_bytes,
)

pytestmark = MARKS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
FRAGMENT = f"/cell/{PUBLISHED_SPECIMEN}/morphology/preview/xy/fragment"
IMG = f'<img src="/cell/{PUBLISHED_SPECIMEN}/morphology/preview/xy.png"'


@pytest.fixture
def no_preview():
    clear_previews(PUBLISHED_SWC)
    yield PUBLISHED_SWC
    clear_previews(PUBLISHED_SWC)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_render_writes_svg_and_png_of_both_planes(no_preview):
    started = time.perf_counter()
    paths = morphology_preview_render(swc_file_id=PUBLISHED_SWC)
    assert time.perf_counter() - started < 2
    assert sorted(p.name for p in paths) == ["xy.png", "xy.svg", "yz.png", "yz.svg"]
    for plane in ("xy", "yz"):
        assert _png_size(morphology_preview_path(PUBLISHED_SWC, plane, "png").read_bytes()) == (300, 300)
        root = ET.parse(morphology_preview_path(PUBLISHED_SWC, plane, "svg")).getroot()
        assert root.tag == f"{SVG}svg"
        strokes = {p.get("stroke") for p in root.iter(f"{SVG}path")}
        assert strokes == {"#1f77b4", "#d62728", "#e377c2"}  # axon, basal and apical dendrites
        assert len(list(root.iter(f"{SVG}circle"))) == 1  # the soma
    leftovers = [p.name for p in paths[0].parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temp files, no in-flight marker


def test_render_of_a_malformed_swc_records_the_error(held_swc):
    from celltypes.science.errors import InvalidFileError

    swc = held_swc(corrupted(PUBLISHED_SWC_PATH, line=7))
    with pytest.raises(InvalidFileError, match="line 7"):
        morphology_preview_render(swc_file_id=swc.pk)
    assert not morphology_preview_path(swc.pk, "xy", "png").exists()
    assert "line 7: not a number" in (morphology_preview_path(swc.pk, "xy", "png").parent / "error.txt").read_text()


def test_first_request_queues_one_render_and_returns_the_polling_placeholder(client, no_preview, recorded_enqueues):
    response = client.get(FRAGMENT)
    assert response.status_code == 202
    html = response.content.decode()
    assert 'data-state="pending"' in html
    assert f'hx-get="{FRAGMENT}?attempt=1"' in html
    assert 'hx-trigger="load delay:1s"' in html
    assert 'hx-swap="outerHTML"' in html
    assert "no-store" in response["Cache-Control"]
    assert recorded_enqueues == [(PUBLISHED_SWC,)]
    for attempt in range(1, 6):  # polling (and other planes, other tabs) while it renders: no storm
        assert client.get(f"{FRAGMENT}?attempt={attempt}").status_code == 202
    assert client.get(f"/cell/{PUBLISHED_SPECIMEN}/morphology/preview/yz.svg").status_code == 202
    assert recorded_enqueues == [(PUBLISHED_SWC,)]


def test_polling_slows_down_and_stops(client, no_preview, recorded_enqueues):
    assert 'hx-trigger="load delay:3s"' in client.get(f"{FRAGMENT}?attempt=25").content.decode()
    html = client.get(f"{FRAGMENT}?attempt=60").content.decode()
    assert 'data-state="timeout"' in html and "hx-trigger" not in html and "Try again" in html


def test_a_lost_render_is_queued_again_after_the_lock_expires(client, no_preview, recorded_enqueues):
    client.get(FRAGMENT)
    lock = morphology_preview_path(PUBLISHED_SWC, "xy", "png").parent / ".rendering"
    old = time.time() - PREVIEW_LOCK_SECONDS - 1
    os.utime(lock, (old, old))
    client.get(FRAGMENT)
    assert recorded_enqueues == [(PUBLISHED_SWC,), (PUBLISHED_SWC,)]


def test_with_eager_celery_the_second_request_returns_the_image(client, no_preview, eager_celery):
    first = client.get(FRAGMENT)
    assert first.status_code == 202 and 'data-state="pending"' in first.content.decode()
    second = client.get(f"{FRAGMENT}?attempt=1")
    assert second.status_code == 200
    html = second.content.decode()
    assert 'data-state="ready"' in html and IMG in html
    assert f'href="/cell/{PUBLISHED_SPECIMEN}/morphology/preview/xy.svg"' in html
    png = client.get(f"/cell/{PUBLISHED_SPECIMEN}/morphology/preview/xy.png")
    assert png["Content-Type"] == "image/png"
    assert _png_size(b"".join(png.streaming_content)) == (300, 300)
    again = client.get(f"/cell/{PUBLISHED_SPECIMEN}/morphology/preview/xy.png", HTTP_IF_NONE_MATCH=png["ETag"])
    assert again.status_code == 304
    svg = client.get(f"/cell/{PUBLISHED_SPECIMEN}/morphology/preview/yz.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert ET.fromstring(b"".join(svg.streaming_content)).tag == f"{SVG}svg"


def test_when_the_broker_is_down_the_preview_is_rendered_in_the_request(client, no_preview, monkeypatch):
    from celltypes.atlas.tasks import morphology_preview_render_task

    def unreachable(*args):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(morphology_preview_render_task, "delay", unreachable)
    html = client.get(FRAGMENT).content.decode()
    assert 'data-state="ready"' in html and IMG in html


def test_the_real_worker_renders_a_missing_preview(client, no_preview, real_worker):
    first = client.get(FRAGMENT)
    assert first.status_code == 202 and 'data-state="pending"' in first.content.decode()
    target = morphology_preview_path(PUBLISHED_SWC, "xy", "png")
    deadline = time.monotonic() + 30
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), "the worker did not render the preview within 30 s"
    html = client.get(f"{FRAGMENT}?attempt=1").content.decode()
    assert 'data-state="ready"' in html and IMG in html
    assert _png_size(target.read_bytes()) == (300, 300)


def test_a_cell_without_a_held_swc_gets_a_missing_fragment(client):
    response = client.get("/cell/313862022/morphology/preview/xy/fragment")
    assert response.status_code == 404
    assert 'data-state="missing"' in response.content.decode()
    assert client.get("/cell/313862022/morphology/preview/zz/fragment").status_code == 404  # no such plane


def test_a_malformed_swc_preview_fragment_says_it_cannot_be_read(client, held_swc, eager_celery):
    """No features computed yet: the render task finds the error, and the next poll shows it."""
    swc = held_swc(corrupted(PUBLISHED_SWC_PATH, line=7))
    fragment = f"/cell/{swc.neuron_reconstruction.specimen_id}/morphology/preview/yz/fragment"
    assert client.get(fragment).status_code == 202
    response = client.get(f"{fragment}?attempt=1")
    assert response.status_code == 200
    assert "The reconstruction could not be read" in response.content.decode()
    assert "line 7" in response.content.decode()
    image = client.get(f"/cell/{swc.neuron_reconstruction.specimen_id}/morphology/preview/yz.png")
    assert image.status_code == 422


def test_swc_projection_serves_png_and_svg(client):
    png = client.get(f"/swc_projection/{PUBLISHED_SWC}/xy.png")
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert _png_size(b"".join(png.streaming_content)) == (300, 300)
    svg = client.get(f"/swc_projection/{PUBLISHED_SWC}/yz.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert ET.fromstring(b"".join(svg.streaming_content)).tag == f"{SVG}svg"
    assert svg["Content-Disposition"] == f'inline; filename="{PUBLISHED_SWC}_yz.svg"'


def test_swc_projection_refuses_what_it_cannot_serve(client, held_swc):
    assert client.get(f"/swc_projection/{PUBLISHED_SWC}/xz.png").status_code == 404  # no such plane
    assert client.get(f"/swc_projection/{PUBLISHED_SWC}/xy.jpg").status_code == 404  # no such format
    assert client.get(f"/swc_projection/{PUBLISHED_MARKER}/xy.png").status_code == 404  # not an SWC
    assert client.get("/swc_projection/1/xy.png").status_code == 404
    swc = held_swc(corrupted(PUBLISHED_SWC_PATH, line=7))
    broken = client.get(f"/swc_projection/{swc.pk}/xy.png")
    assert broken.status_code == 422
    assert "line 7" in broken.content.decode()


def test_the_old_section_image_download_url_of_an_swc_redirects_to_its_own_url(client):
    """Our drawings used to live at Allen's image URL; the old form redirects only for an SWC id with view=."""
    old = client.get(f"/api/v2/section_image_download/{PUBLISHED_SWC}?view=yz&format=svg")
    assert old.status_code == 308 and old["Location"] == f"/swc_projection/{PUBLISHED_SWC}/yz.svg"
    assert client.get(f"/api/v2/section_image_download/{PUBLISHED_SWC}?view=xy")["Location"] == (
        f"/swc_projection/{PUBLISHED_SWC}/xy.png"
    )
    bad_view = client.get(f"/api/v2/section_image_download/{PUBLISHED_SWC}?view=xz")
    assert bad_view.status_code == 400 and "/swc_projection/" in json.loads(bad_view.content)["msg"]
    no_view = client.get(f"/api/v2/section_image_download/{PUBLISHED_SWC}")  # an id that is no image of Allen's
    assert no_view.status_code == 404 and json.loads(no_view.content)["success"] is False
    assert client.get(f"/api/v2/section_image_download/{PUBLISHED_MARKER}?view=xy").status_code == 404
    assert client.get(f"/api/v2/image_download/{PUBLISHED_SWC}?view=xy").status_code == 404  # never on the new one


def test_plot_json_of_the_largest_swc_is_compact_and_cacheable(client):
    assert len(read_swc(LARGE_SWC_PATH)) == 10_671
    response = client.get(f"/cell/{LARGE_SPECIMEN}/morphology/plot.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert len(response.content) < 600_000
    figure = json.loads(response.content)
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["axon", "basal dendrite", "soma"]  # an aspiny cell: no apical dendrite
    assert figure["reconstruction"]["id"] == LARGE_RECONSTRUCTION
    sha = WellKnownFile.objects.get(pk=figure["reconstruction"]["swc_file_id"]).sha256
    assert response["ETag"] == f'"{sha}"'
    assert client.get(f"/cell/{LARGE_SPECIMEN}/morphology/plot.json", HTTP_IF_NONE_MATCH=f'"{sha}"').status_code == 304


def test_plot_json_draws_the_markers_and_an_older_reconstruction(client):
    figure = client.get(f"/cell/{PUBLISHED_SPECIMEN}/morphology/plot.json").json()
    assert figure["reconstruction"] == {
        "id": PUBLISHED_RECONSTRUCTION,
        "specimen_id": PUBLISHED_SPECIMEN,
        "superseded": False,
        "swc_file_id": PUBLISHED_SWC,
    }
    markers = [t for t in figure["data"] if t["name"] == "cut dendrite"]
    assert len(markers) == 1 and len(markers[0]["x"]) > 0
    assert markers[0]["x"][0] == round(398.7229 - 0.1144, 1)  # the marker file's first row, in the SWC frame
    older = client.get(f"/cell/{OLDER_SPECIMEN}/morphology/plot.json").json()
    assert (older["reconstruction"]["id"], older["reconstruction"]["superseded"]) == (OLDER_RECONSTRUCTION, True)


def test_plot_json_without_a_held_swc_is_a_404_with_a_message(client):
    response = client.get("/cell/313862022/morphology/plot.json")
    assert response.status_code == 404
    assert response.json()["error"] == "No reconstruction file of specimen 313862022 is held here."


def test_a_large_swc_is_never_rendered_in_a_request_when_the_broker_is_down(client, no_preview, monkeypatch, settings):
    from celltypes.atlas.tasks import morphology_preview_render_task

    def unreachable(*args):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(morphology_preview_render_task, "delay", unreachable)
    settings.CELLTYPES_PREVIEW_INLINE_MAX_BYTES = PUBLISHED_SWC_PATH.stat().st_size - 1
    fragment = client.get(FRAGMENT)
    assert fragment.status_code == 202 and 'data-state="pending"' in fragment.content.decode()
    image = client.get(f"/swc_projection/{PUBLISHED_SWC}/xy.png")
    assert image.status_code == 503 and image["Retry-After"] == "5"
    assert not morphology_preview_path(PUBLISHED_SWC, "xy", "png").exists()  # nothing rendered in a request


def test_a_render_that_keeps_dying_is_given_up_after_three_attempts(no_preview):
    from celltypes.atlas.selectors.morphology import PreviewState, morphology_preview_status, preview_dir
    from celltypes.atlas.services.morphology import PREVIEW_MAX_ATTEMPTS

    preview_dir(PUBLISHED_SWC).mkdir(parents=True, exist_ok=True)
    (preview_dir(PUBLISHED_SWC) / ".attempts").write_text(str(PREVIEW_MAX_ATTEMPTS))  # three starts, none finished
    with pytest.raises(InvalidFileError, match="failed 3 times"):
        morphology_preview_render(swc_file_id=PUBLISHED_SWC)
    status = morphology_preview_status(swc_file_id=PUBLISHED_SWC, plane="xy", fmt="png")
    assert status.state is PreviewState.FAILED and "failed 3 times" in status.error


def test_plot_json_etag_names_the_bytes_held_and_a_damaged_swc_is_not_drawn(client, held_swc):
    swc = held_swc(PUBLISHED_SWC_PATH.read_bytes())
    specimen = swc.neuron_reconstruction.specimen_id
    first = client.get(f"/cell/{specimen}/morphology/plot.json")
    assert first["ETag"] == f'"{swc.sha256}"'
    replace_held_bytes(swc, PUBLISHED_SWC_PATH.read_bytes() + b"# fetched again\n")
    again = client.get(f"/cell/{specimen}/morphology/plot.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again["ETag"] == f'"{swc.sha256}"' != first["ETag"]
    filestore.well_known_file_path(swc.pk).write_bytes(b"1 1 0 0 0 1 -1\n")  # no longer the recorded bytes
    assert client.get(f"/cell/{specimen}/morphology/plot.json").status_code == 404
