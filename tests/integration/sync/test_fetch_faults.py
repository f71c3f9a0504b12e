"""Faults of the upstream during a fetch: nothing partial or wrong is kept, nothing stale is served, and a slow
upstream holds a request for a bounded time. Against the stub upstream on loopback, with real demo files."""

import base64
import hashlib
import threading
import time

import pytest

from celltypes.atlas import filestore
from celltypes.atlas.models import WellKnownFile
from celltypes.sync.client import UpstreamClient, UpstreamError
from celltypes.sync.services import well_known_file_fetch

pytestmark = pytest.mark.django_db

NWB = 491198851  # 386049444_ephys.nwb: the stub serves a real Allen NWB (of another cell) from the demo set
SWC = 491459173  # Nr5a1-Cre_Ai14-177334.05.01.01_491459171_m.swc
FIT = 497235805  # 386049446_fit.json, the real fit of model 472451419


@pytest.fixture(autouse=True)
def empty_store(settings, tmp_path):
    settings.CELLTYPES_DATA_DIR = tmp_path / "data"
    settings.CELLTYPES_UPSTREAM = ""
    return settings.CELLTYPES_DATA_DIR


@pytest.fixture
def allen_records(allen_model_upstream):
    """The upstream's records of model 472451419 (the fit's Allen id among them), no files."""
    from celltypes.sync.services import neuronal_model_sync

    neuronal_model_sync(neuronal_model_id=472451419, client=UpstreamClient(allen_model_upstream.url), fetch_files=False)
    return allen_model_upstream


def held_names(store) -> list[str]:
    folder = store / "well_known_files"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def repr_digest(body: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def test_a_body_cut_short_without_content_length_is_not_kept_and_can_be_retried(allen_model_upstream, empty_store):
    allen_model_upstream.unframed.add(NWB)
    client = UpstreamClient(allen_model_upstream.url)
    with pytest.raises(UpstreamError, match="without Content-Length, chunked encoding or a digest"):
        well_known_file_fetch(file_id=NWB, client=client)
    assert held_names(empty_store) == []
    assert WellKnownFile.objects.get(id=NWB).size is None

    allen_model_upstream.unframed.clear()
    stored = well_known_file_fetch(file_id=NWB, client=client)
    assert stored.size == len(allen_model_upstream.files[NWB])


def test_an_unframed_body_is_kept_when_it_matches_the_published_digest(allen_records, allen_model_upstream):
    body = allen_model_upstream.files[FIT]
    allen_model_upstream.unframed.add(FIT)
    allen_model_upstream.files[FIT] = body[: len(body) // 2] * 2  # the stub sends the first half: this very body
    allen_model_upstream.digests[FIT] = repr_digest(body[: len(body) // 2])
    with pytest.raises(UpstreamError, match="not a valid file of its kind: not JSON"):  # half a JSON file
        well_known_file_fetch(file_id=FIT, client=UpstreamClient(allen_model_upstream.url))
    allen_model_upstream.files[FIT] = body + body  # the first half is now the whole fit
    allen_model_upstream.digests[FIT] = repr_digest(body)
    stored = well_known_file_fetch(file_id=FIT, client=UpstreamClient(allen_model_upstream.url))
    assert (stored.size, stored.sha256) == (len(body), hashlib.sha256(body).hexdigest())


def test_a_published_digest_that_does_not_match_keeps_nothing(allen_records, allen_model_upstream, empty_store):
    allen_model_upstream.digests[FIT] = repr_digest(b"some other file")
    with pytest.raises(UpstreamError, match="is not the published") as failed:
        well_known_file_fetch(file_id=FIT, client=UpstreamClient(allen_model_upstream.url))
    assert failed.value.retryable  # corrupted in transit: asking again may work
    assert held_names(empty_store) == []
    allen_model_upstream.digests[FIT] = repr_digest(allen_model_upstream.files[FIT])
    assert well_known_file_fetch(file_id=FIT, client=UpstreamClient(allen_model_upstream.url)).size > 0


def test_an_html_page_answered_with_200_is_not_kept(allen_model_upstream, empty_store, client, settings):
    allen_model_upstream.html_instead.add(NWB)
    with pytest.raises(UpstreamError, match="HTML page") as failed:
        well_known_file_fetch(file_id=NWB, client=UpstreamClient(allen_model_upstream.url))
    assert not failed.value.retryable
    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    response = client.get(f"/api/v2/well_known_file_download/{NWB}")
    assert response.status_code == 502 and "HTML page" in response.json()["msg"]
    assert held_names(empty_store) == []


@pytest.mark.parametrize(
    ("file_id", "body", "problem"),
    [
        (NWB, b"<!DOCTYPE html><html><body>Not found</body></html>", "an HTML page"),
        (NWB, b"NWB? no: plain text\n", "not an HDF5 file"),
        (SWC, b"1 1 0 0 0 5 -1\n2 3 1 0\n", "line 2"),
        (FIT, b'{"passive": [', "not JSON"),
    ],
)
def test_a_file_that_is_not_of_its_kind_is_not_kept(allen_records, empty_store, file_id, body, problem):
    allen_model_upstream = allen_records
    allen_model_upstream.files[file_id] = body  # synthetic: what a broken upstream might send
    with pytest.raises(UpstreamError, match="is not a valid file of its kind") as failed:
        well_known_file_fetch(file_id=file_id, client=UpstreamClient(allen_model_upstream.url))
    assert problem in str(failed.value)
    assert held_names(empty_store) == []


def test_half_an_nwb_is_not_kept_even_when_framed_as_whole(allen_model_upstream, empty_store):
    whole = allen_model_upstream.files[NWB]
    allen_model_upstream.files[NWB] = whole[: len(whole) // 2]  # synthetic: a truncated copy served as complete
    with pytest.raises(UpstreamError, match="HDF5 that cannot be opened"):
        well_known_file_fetch(file_id=NWB, client=UpstreamClient(allen_model_upstream.url))
    assert held_names(empty_store) == []


def test_a_held_file_that_no_longer_matches_its_record_is_not_served(client, settings, allen_model_upstream):
    good = allen_model_upstream.files[SWC]
    stored = filestore.store_well_known_file(SWC, good)
    WellKnownFile.objects.filter(id=SWC).update(size=stored.size, sha256=stored.sha256)
    url = f"/api/v2/well_known_file_download/{SWC}"
    assert b"".join(client.get(url).streaming_content) == good

    damaged = bytearray(good)
    damaged[-3] ^= 1  # same size, one bit flipped
    filestore.well_known_file_path(SWC).write_bytes(bytes(damaged))
    offline = client.get(url)
    assert offline.status_code == 404
    assert "does not match its recorded size and sha256" in offline.json()["msg"]

    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    refetched = client.get(url)
    assert refetched.status_code == 200 and refetched.getvalue() == good
    assert filestore.well_known_file_path(SWC).read_bytes() == good


def test_a_dripping_upstream_holds_a_request_no_longer_than_the_deadline(
    client, settings, allen_model_upstream, empty_store, celery_broker
):
    allen_model_upstream.drip[SWC] = 0.2  # a byte every 0.2 s: the whole body would take about 12 s
    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    settings.CELLTYPES_FETCH_DEADLINE = 1.0
    with celery_broker("redis://127.0.0.1:1/0"):  # no broker: the fetch cannot be handed to a worker
        started = time.monotonic()
        response = client.get(f"/api/v2/well_known_file_download/{SWC}")
        elapsed = time.monotonic() - started
    assert response.status_code == 504, response.content
    assert "did not finish sending the file within the deadline" in response.json()["msg"]
    assert elapsed < 1.0 + 1.5  # the deadline, plus one try to queue the fetch
    assert held_names(empty_store) == []


def test_a_fetch_past_the_deadline_is_handed_to_the_worker(
    client, settings, allen_model_upstream, idle_redis_url, celery_broker
):
    import redis

    allen_model_upstream.drip[SWC] = 0.2
    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    settings.CELLTYPES_FETCH_DEADLINE = 0.5
    with celery_broker(idle_redis_url):
        response = client.get(f"/api/v2/well_known_file_download/{SWC}")
    assert response.status_code == 503, response.content
    assert "the worker carries on" in response.json()["msg"]
    assert response["Retry-After"] == "1"
    queue = redis.Redis.from_url(idle_redis_url)
    queued = queue.lrange("celery", 0, -1)
    queue.delete("celery")
    assert len(queued) == 1 and b"sync.well_known_file_fetch" in queued[0]


def test_a_request_waits_for_another_fetch_of_the_same_file_only_so_long(client, settings, allen_model_upstream):
    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    settings.CELLTYPES_FETCH_LOCK_WAIT = 0.5
    holding, release = threading.Event(), threading.Event()

    def another_fetch() -> None:
        with filestore.well_known_file_lock(SWC):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=another_fetch)
    thread.start()
    try:
        holding.wait(5)
        started = time.monotonic()
        response = client.get(f"/api/v2/well_known_file_download/{SWC}")
        elapsed = time.monotonic() - started
    finally:
        release.set()
        thread.join(10)
    assert response.status_code == 503 and response.has_header("Retry-After")
    assert "being fetched from the upstream by another request or worker" in response.json()["msg"]
    assert 0.5 <= elapsed < 2.0


def test_waiters_on_a_failed_fetch_do_not_fetch_again_one_after_another(allen_model_upstream, empty_store):
    from django.db import connection

    allen_model_upstream.drip[SWC] = 0.2
    client = UpstreamClient(allen_model_upstream.url)
    outcomes: list[tuple[str, float]] = []

    def fetch() -> None:
        started = time.monotonic()
        try:
            well_known_file_fetch(file_id=SWC, client=client, deadline=1.0, lock_wait=10)
            outcomes.append(("fetched", time.monotonic() - started))
        except UpstreamError as exc:
            outcomes.append((str(exc), time.monotonic() - started))
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 4
    assert len([path for path in allen_model_upstream.requests if path.endswith(f"/{SWC}")]) == 1
    assert sum("the fetch this request waited for failed" in message for message, _ in outcomes) == 3
    assert max(seconds for _, seconds in outcomes) < 3.0  # not 1, 2, 3, 4 s one after another
    assert held_names(empty_store) == []
