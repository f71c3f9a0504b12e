"""Fetching a cell's NWB file from the upstream (the tests' loopback stub, serving a real NWB file) in a Celery
task, run eagerly here, with the progress the ephys tab polls."""

from __future__ import annotations

import pytest

from celltypes.atlas import choices, filestore
from celltypes.atlas.bundled import DEMO_DIR
from celltypes.atlas.models import WellKnownFile
from celltypes.sync.nwb_fetch import nwb_fetch_progress_get

pytestmark = pytest.mark.django_db

CELL = 313862022  # no recording held, an NWB record of Allen's
REAL_NWB = DEMO_DIR / "ipfx/tests/data/Sst-IRES-CreAi14-395722.01.01.01.nwb"


@pytest.fixture
def eager_celery(settings):
    """Tasks run in the request (Celery takes a producer from the broker: the memory one)."""
    from celltypes.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = "memory://"
    app._after_fork()
    yield app
    app._after_fork()


@pytest.fixture
def nwb(settings, stub_upstream):
    """The cell's NWB record, served by the stub; the fetched copy and its progress are removed afterwards."""
    wkf = WellKnownFile.objects.get(ephys_result__specimen__id=CELL, well_known_file_type_id=choices.NWB_DOWNLOAD[0])
    settings.CELLTYPES_UPSTREAM = stub_upstream.url
    yield wkf
    filestore.well_known_file_path(wkf.id).unlink(missing_ok=True)
    filestore.derived_path("fetch", f"{wkf.id}.json").unlink(missing_ok=True)
    filestore.derived_path("fetch", f"{wkf.id}.marker").unlink(missing_ok=True)


def test_without_an_upstream_the_tab_says_it_cannot_fetch(client):
    html = client.get(f"/cell/{CELL}/ephys/").content.decode()
    assert 'data-nwb-fetch="none"' in html and "No upstream is configured" in html
    assert client.post(f"/cell/{CELL}/ephys/fetch").status_code == 409


def test_the_nwb_is_fetched_in_a_task_and_the_tab_then_holds_it(client, nwb, stub_upstream, eager_celery):
    body = REAL_NWB.read_bytes()
    stub_upstream.files[nwb.id] = body
    html = client.get(f"/cell/{CELL}/ephys/").content.decode()
    assert f'action="/cell/{CELL}/ephys/fetch"' in html and "from the upstream</button>" in html
    assert client.get(f"/cell/{CELL}/ephys/fetch").status_code == 405  # a GET never starts a fetch

    response = client.post(f"/cell/{CELL}/ephys/fetch")
    assert response.status_code == 302 and response["Location"] == f"/cell/{CELL}/ephys/"
    assert stub_upstream.requests == [f"/api/v2/well_known_file_download/{nwb.id}"]
    assert filestore.well_known_file_path(nwb.id).read_bytes() == body
    assert nwb_fetch_progress_get(file_id=nwb.id).state == "done"
    status = client.get(f"/cell/{CELL}/ephys/fetch/status")
    assert status["HX-Refresh"] == "true"
    html = client.get(f"/cell/{CELL}/ephys/").content.decode()
    assert "held here" in html and "data-no-recording" not in html

    client.post(f"/cell/{CELL}/ephys/fetch")  # held: nothing fetched again
    assert len(stub_upstream.requests) == 1


def test_a_failed_fetch_is_reported_and_can_be_asked_again(client, nwb, stub_upstream, eager_celery):
    stub_upstream.files[nwb.id] = REAL_NWB.read_bytes()
    stub_upstream.cut_short.add(nwb.id)
    client.post(f"/cell/{CELL}/ephys/fetch")
    progress = nwb_fetch_progress_get(file_id=nwb.id)
    assert progress.state == "error" and "stopped after" in progress.message
    assert not filestore.has_well_known_file(nwb.id)  # no partial file
    html = client.get(f"/cell/{CELL}/ephys/").content.decode()
    assert 'data-nwb-fetch="error"' in html and "The last fetch failed" in html and "</button>" in html


def test_a_queued_fetch_polls_its_progress(client, nwb, monkeypatch):
    from celltypes.sync.tasks import nwb_fetch_with_progress_task

    queued = []
    monkeypatch.setattr(nwb_fetch_with_progress_task, "delay", lambda *args: queued.append(args))
    client.post(f"/cell/{CELL}/ephys/fetch")
    client.post(f"/cell/{CELL}/ephys/fetch")  # in flight: queued once
    assert queued == [(nwb.id,)]
    fragment = client.get(f"/cell/{CELL}/ephys/fetch/status")
    html = fragment.content.decode()
    assert 'data-nwb-fetch="queued"' in html and f'hx-get="/cell/{CELL}/ephys/fetch/status"' in html
    assert "HX-Refresh" not in fragment
