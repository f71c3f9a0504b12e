"""The trace thumbnail (Allen's card picture: a short pulse's response in red, long squares' in blue), drawn by the
worker's task from the sweeps held here: queued once on first request, polled with htmx, cached in the store; a
cell with no recording says so and gets no drawing. Real held windows of the demo set, a SYNTHETIC lab upload."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from celery import current_app
from django.core.management import call_command

from celltypes.atlas.selectors.ephys_thumbnails import ephys_thumbnail_plan_get, thumbnail_dir
from celltypes.atlas.services.ephys_thumbnails import THUMBNAIL_TASK
from celltypes.atlas.tasks import ephys_thumbnail_render_task
from celltypes.atlas.vocabulary import EPHYS_THUMBNAIL_COLOURS, LONG_SQUARE, SHORT_SQUARE
from tests.support.synthetic_nwb import write_synthetic_nwb2

pytestmark = pytest.mark.django_db

HELD_CELL = 509881736  # a held 815-2265 ms window of Long Square sweep 39 (130 pA)
TABLE_CELL = 324032509  # Allen's sweep table, no recording held
FRAGMENT = f"/cell/{HELD_CELL}/ephys/thumbnail/fragment"
CAPTION = (
    "Drawn here from the held 815-2265 ms window (not Allen&#x27;s NWB file): blue: Long Square sweep 39 (130 pA)."
)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def no_thumbnail():
    shutil.rmtree(thumbnail_dir(HELD_CELL), ignore_errors=True)
    yield
    shutil.rmtree(thumbnail_dir(HELD_CELL), ignore_errors=True)


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """Record the task's sends instead of sending them (a worker that has not run yet)."""
    calls: list[tuple] = []
    monkeypatch.setattr(ephys_thumbnail_render_task, "delay", lambda *args: calls.append(args))
    return calls


def test_the_first_request_queues_one_render_by_name_and_polls_until_the_worker_has_drawn_it(client, queued):
    first = client.get(f"{FRAGMENT}?variant=card")
    assert first.status_code == 202 and 'data-state="pending"' in first.content.decode()
    assert f'hx-get="{FRAGMENT}?variant=card&amp;attempt=1"' in first.content.decode()
    for attempt in range(1, 4):  # polling while it renders: no second send
        assert client.get(f"{FRAGMENT}?variant=card&attempt={attempt}").status_code == 202
    assert queued == [(HELD_CELL,)] and ephys_thumbnail_render_task.name == THUMBNAIL_TASK

    assert current_app.tasks[THUMBNAIL_TASK](HELD_CELL).startswith("drawn: ")  # the worker's run
    card = client.get(f"{FRAGMENT}?variant=card&attempt=4").content.decode()
    assert 'data-state="ready"' in card and "sweep 39 · drawn here" in card and f'title="{CAPTION}"' in card
    full = client.get(FRAGMENT).content.decode()
    assert f"<figcaption>{CAPTION}</figcaption>" in full


def test_the_svg_draws_the_long_square_in_blue_with_its_spikes_and_says_what_it_is(client, monkeypatch):
    def unreachable(*args):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(ephys_thumbnail_render_task, "delay", unreachable)  # drawn in the request instead
    assert 'data-state="ready"' in client.get(FRAGMENT).content.decode()
    response = client.get(f"/cell/{HELD_CELL}/ephys/thumbnail.svg")
    assert response["Content-Type"] == "image/svg+xml"
    svg = ET.fromstring(b"".join(response.streaming_content))
    assert svg.get("width") == "192" and "style" not in ET.tostring(svg).decode()  # CSP: no style attributes
    assert svg.find(f"{SVG}title").text == CAPTION.replace("&#x27;", "'")
    (line,) = svg.findall(f"{SVG}polyline")
    assert line.get("stroke") == EPHYS_THUMBNAIL_COLOURS[LONG_SQUARE]
    ys = [float(p.split(",")[1]) for p in line.get("points").split()]
    tops = sum(1 for a, b, c in zip(ys, ys[1:], ys[2:], strict=False) if b < 20 and b < a and b <= c)
    assert min(ys) == 3.0 and tops == 25  # the 25 spike peaks of sweep 39 reach the top


def test_a_cell_with_no_recording_says_so_and_gets_no_drawing(client, queued):
    card = client.get(f"/cell/{TABLE_CELL}/ephys/thumbnail/fragment?variant=card").content.decode()
    assert 'data-state="none"' in card and "no recording held" in card and "<img" not in card
    overview = client.get(f"/cell/{TABLE_CELL}/").content.decode()
    assert "No recording of this cell is held here, so no trace is drawn." in overview
    assert "/ephys/thumbnail" not in overview
    assert client.get(f"/cell/{TABLE_CELL}/ephys/thumbnail.svg").status_code == 404
    assert queued == []


def test_the_overview_and_the_search_cards_ask_for_it_only_where_a_recording_is_held(client, queued):
    overview = client.get(f"/cell/{HELD_CELL}/").content.decode()
    assert f'hx-get="{FRAGMENT}"' in overview
    cards = client.get("/cells/", {"view": "cards", "q": "509881736"}).content.decode()
    assert f'hx-get="{FRAGMENT}?variant=card"' in cards
    others = client.get("/cells/", {"view": "cards", "q": "324032509"}).content.decode()
    assert "no recording held" in others and "/ephys/thumbnail" not in others


def test_a_lab_upload_draws_its_hyperpolarising_rheobase_and_strongest_long_squares(tmp_path):
    call_command("import_nwb", str(write_synthetic_nwb2(tmp_path / "synthetic_lab_cell.nwb")))
    from celltypes.atlas.models import LabRecording

    specimen = LabRecording.objects.get().specimen_id
    plan = ephys_thumbnail_plan_get(specimen_id=specimen)
    assert [(s.sweep_number, s.amplitude) for s in plan.sweeps] == [(0, -90.0), (2, 90.0), (3, 130.0)]
    assert "a lab's own recording uploaded here (not Allen's data)" in plan.caption
    assert re.fullmatch(r"sweeps 0, 2, 3 · drawn here", plan.label)


def test_a_short_pulse_is_drawn_in_red_over_the_long_squares_in_blue(client, tmp_path, monkeypatch):
    """A SYNTHETIC upload with a Short Square (800 pA, 3 ms, one spike) beside two Long Squares."""
    monkeypatch.setattr(ephys_thumbnail_render_task, "delay", lambda *args: ephys_thumbnail_render_task(*args))
    nwb = write_synthetic_nwb2(tmp_path / "synthetic_short_pulse.nwb", (-90.0, 130.0), short_square=800.0)
    call_command("import_nwb", str(nwb))
    from celltypes.atlas.models import LabRecording

    specimen = LabRecording.objects.get().specimen_id
    html = client.get(f"/cell/{specimen}/ephys/thumbnail/fragment").content.decode()
    assert "red: Short Square sweep 2 (800 pA)" in html and "blue: Long Square sweep 1 (130 pA)" in html
    svg = ET.fromstring(b"".join(client.get(f"/cell/{specimen}/ephys/thumbnail.svg").streaming_content))
    colours = [line.get("stroke") for line in svg.findall(f"{SVG}polyline")]
    assert colours == [EPHYS_THUMBNAIL_COLOURS[LONG_SQUARE]] * 2 + [EPHYS_THUMBNAIL_COLOURS[SHORT_SQUARE]]
    shutil.rmtree(thumbnail_dir(specimen), ignore_errors=True)
