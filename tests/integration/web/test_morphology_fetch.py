"""The morphology tab of a cell whose SWC record exists but whose bytes the store lacks: a placeholder that polls,
the fetch queued once by the first poll (Celery eager here, the loopback stub upstream serving the real SWC), the
3D view, features and projections swapped in once held; a plain message offline; the reason and a retry on failure.

The cell is a demo cell whose SWC the session's store holds: each test moves the file aside (and puts it back), so
the stub serves Allen's very bytes, which match the record's size and sha256.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from celltypes.atlas import filestore
from celltypes.atlas.models import WellKnownFile
from celltypes.sync.file_fetch import FETCH_TASK

pytestmark = pytest.mark.django_db

CELL, SWC = 468193142, 491120157  # current reconstruction; SWC of 113,266 bytes
TAB = f"/cell/{CELL}/morphology/"
STATUS = f"/cell/{CELL}/morphology/fetch/status"
RETRY = f"/cell/{CELL}/morphology/fetch"
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def eager_celery(settings):
    from celltypes.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = "memory://"
    app._after_fork()
    yield app
    app._after_fork()


@pytest.fixture
def swc_not_held():
    """The cell's SWC moved out of the store (its record stays); put back, with its fetch state cleared, after."""
    path = filestore.well_known_file_path(SWC)
    body = path.read_bytes()
    path.unlink()
    yield body
    filestore.write_atomic(path, [body])
    filestore.derived_path("fetch", f"{SWC}.queued").unlink(missing_ok=True)
    filestore.fetch_failure_record(SWC, None)


@pytest.fixture
def upstream(settings, stub_upstream):
    settings.CELLTYPES_UPSTREAM = stub_upstream.url
    return stub_upstream


def test_offline_the_tab_says_plainly_it_cannot_fetch(client, swc_not_held):
    html = client.get(TAB).content.decode()
    assert 'data-swc-fetch="offline"' in html and "no upstream" in html and "CELLTYPES_UPSTREAM" in html
    assert STATUS not in html and "data-morphology-viewer" not in html  # nothing polls, nothing drawn
    assert "Allen's published features" in html
    assert client.post(RETRY).status_code == 409


def test_the_placeholder_polls_and_the_first_poll_fetches_then_the_view_is_swapped_in(
    client, swc_not_held, upstream, eager_celery
):
    upstream.files[SWC] = swc_not_held
    html = client.get(TAB).content.decode()
    assert 'data-swc-fetch="none"' in html and "data-swc-fetch-placeholder" in html
    assert f'hx-get="{STATUS}?attempt=1"' in html and 'hx-trigger="load"' in html
    assert "data-morphology-viewer" not in html
    assert upstream.requests == []  # the page itself fetches nothing

    fragment = client.get(f"{STATUS}?attempt=1")
    assert fragment.status_code == 200
    swapped = fragment.content.decode()
    assert upstream.requests == [f"/api/v2/well_known_file_download/{SWC}"]
    assert filestore.well_known_file_path(SWC).read_bytes() == swc_not_held
    opening = swapped.split(">")[0]
    assert "data-morphology-tab" in opening and "hx-get" not in opening  # the whole tab, and it polls no more
    assert "data-morphology-viewer" in swapped and "data-swc-fetch-placeholder" not in swapped
    assert "data-computed" in swapped and 'class="morph-projections"' in swapped  # features and previews
    assert "data-no-swc" not in swapped

    client.get(f"{STATUS}?attempt=2")
    client.get(TAB)
    assert len(upstream.requests) == 1  # held: never fetched again


def test_a_failed_fetch_shows_the_reason_and_a_retry_that_works(client, swc_not_held, upstream, eager_celery):
    # The stub has no such file: it answers 404, which no retry would mend.
    html = client.get(f"{STATUS}?attempt=1").content.decode()
    assert 'data-swc-fetch="error"' in html and "data-swc-fetch-retry" in html and f'action="{RETRY}"' in html
    assert "404" in html and "hx-get" not in html.split(">")[0]
    assert not filestore.has_well_known_file(SWC)
    asked = len(upstream.requests)
    client.get(f"{STATUS}?attempt=2")  # the failure stands until someone asks again: no new fetch
    assert len(upstream.requests) == asked

    upstream.files[SWC] = swc_not_held
    response = client.post(RETRY)
    assert response.status_code == 302 and response["Location"] == TAB
    assert filestore.well_known_file_path(SWC).read_bytes() == swc_not_held
    assert "data-morphology-viewer" in client.get(TAB).content.decode()


def test_a_queued_fetch_is_queued_once_and_polled_without_writing_to_the_database(
    client, swc_not_held, upstream, monkeypatch
):
    from celery import current_app

    queued = []
    monkeypatch.setattr(current_app.tasks[FETCH_TASK], "delay", lambda *args: queued.append(args))
    with CaptureQueriesContext(connection) as queries:
        client.get(TAB)
        first = client.get(f"{STATUS}?attempt=1").content.decode()
        second = client.get(f"{STATUS}?attempt=2").content.decode()
    assert queued == [(SWC,)]
    assert not [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]
    for html, attempt in ((first, 2), (second, 3)):
        assert 'data-swc-fetch="fetching"' in html and "data-swc-fetch-placeholder" in html
        assert f'hx-get="{STATUS}?attempt={attempt}"' in html and 'hx-trigger="load delay:1s"' in html
    assert WellKnownFile.objects.get(pk=SWC).size == len(swc_not_held)


def test_polling_gives_up_after_a_while_and_offers_to_ask_again(client, swc_not_held, upstream, monkeypatch):
    from celery import current_app

    from celltypes.web.presenters.morphology import MAX_FETCH_POLLS

    monkeypatch.setattr(current_app.tasks[FETCH_TASK], "delay", lambda *args: None)
    html = client.get(f"{STATUS}?attempt={MAX_FETCH_POLLS}").content.decode()
    assert "has not arrived from the upstream yet" in html and "data-swc-fetch-retry" in html
    assert "hx-get" not in html.split(">")[0]


def test_the_search_card_says_swc_not_held_rather_than_drawing_anything(client, swc_not_held):
    def card() -> str:
        html = client.get(f"/cells/?q={CELL}").content.decode()
        return html.split(f'data-specimen-id="{CELL}"')[1].split("</article>")[0]

    missing = card()
    assert "data-swc-not-held" in missing and "SWC not held" in missing
    assert "hx-get" not in missing and "<img" not in missing and "<svg" not in missing
    filestore.write_atomic(filestore.well_known_file_path(SWC), [swc_not_held])
    held = card()
    assert "data-swc-not-held" not in held and "no picture" in held and "morph-thumb-slot" in held


def test_a_dropped_connection_is_reported_with_the_fetchs_own_reason_and_still_polled(
    client, swc_not_held, upstream, eager_celery
):
    upstream.files[SWC] = swc_not_held
    upstream.cut_short.add(SWC)  # announces 113,266 bytes, sends half, closes
    html = client.get(f"{STATUS}?attempt=1").content.decode()
    assert 'data-swc-fetch="error"' in html and "data-swc-fetch-retry" in html
    reason = html.split("data-swc-fetch-reason>")[1].split("</span>")[0]
    assert "stopped after" in reason and "113266" in reason.replace(",", ""), reason
    assert not filestore.has_well_known_file(SWC)  # no partial file
    # A failure that may pass: the worker's task asks again on its own, so the tab keeps polling (slowly) meanwhile.
    opening = html.split(">")[0]
    assert "data-swc-fetch-retrying" in html and 'hx-trigger="load delay:5s"' in opening
    asked = len(upstream.requests)
    client.get(f"{STATUS}?attempt=2")
    assert len(upstream.requests) == asked  # polling queues nothing more


def test_a_broker_that_is_down_is_said_plainly(client, swc_not_held, upstream, monkeypatch):
    from celery import current_app
    from kombu.exceptions import OperationalError

    def down(*args):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(current_app.tasks[FETCH_TASK], "delay", down)
    html = client.get(f"{STATUS}?attempt=1").content.decode()
    assert 'data-swc-fetch="error"' in html and "the task queue is unreachable" in html
    assert "data-swc-fetch-retry" in html and "hx-get" not in html.split(">")[0]
    assert not filestore.derived_path("fetch", f"{SWC}.queued").exists()  # nothing in flight: a retry may queue
