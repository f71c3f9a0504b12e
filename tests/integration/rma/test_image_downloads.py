"""Allen's image download services: fetched through from a loopback stand-in upstream serving synthetic JPEGs (the
demo set holds no image of Allen's), cached per parameter set, with Allen's error envelope when it cannot be."""

import json
import shutil
import threading

import pytest

from celltypes.sync import image_fetch
from celltypes.sync.client import UpstreamClient
from tests.factories import ProjectionImageFactory, SubImageFactory
from tests.support.image_upstream import image_upstream
from tests.support.synthetic_jpeg import synthetic_jpeg

pytestmark = pytest.mark.django_db

JPEG = synthetic_jpeg(64, 48, lambda bx, by: 30 * bx + 20 * by)


@pytest.fixture
def upstream(settings, tmp_path):
    settings.CELLTYPES_DATA_DIR = tmp_path
    settings.CELLTYPES_FETCH_DEADLINE = 5.0
    settings.CELLTYPES_FETCH_LOCK_WAIT = 2.0
    with image_upstream() as stub:
        settings.CELLTYPES_UPSTREAM = stub.url
        yield stub


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def envelope(response) -> dict:
    message = json.loads(response.content)
    assert message["success"] is False and message["num_rows"] == 0
    return message


def test_first_request_fetches_with_allens_parameters_then_serves_the_copy(client, upstream):
    plane = SubImageFactory()
    upstream.images[plane.id] = JPEG
    region = {"top": "8", "left": "16", "width": "32", "height": "24"}
    query = {"downsample": "2", "quality": "50", **region, "range": "0,923,0,987,0,4095", "x": "9"}
    first = client.get(f"/api/v2/section_image_download/{plane.id}", query)
    assert first.status_code == 200 and first["Content-Type"] == "image/jpeg"
    assert body(first) == JPEG
    assert first["Content-Disposition"] == f'inline; filename="{plane.id}.jpg"'
    # Allen's parameters went upstream; one it does not take (x) did not.
    assert upstream.requests == [
        (
            f"/api/v2/section_image_download/{plane.id}",
            {"downsample": "2", "quality": "50", **region, "range": "0,923,0,987,0,4095"},
        )
    ]
    again = client.get(f"/api/v2/section_image_download/{plane.id}", query)
    assert body(again) == JPEG and len(upstream.requests) == 1  # from the copy
    revalidated = client.get(f"/api/v2/section_image_download/{plane.id}", query, HTTP_IF_NONE_MATCH=first["ETag"])
    assert revalidated.status_code == 304
    other = client.get(f"/api/v2/section_image_download/{plane.id}", {"downsample": "3"})
    assert other.status_code == 200 and len(upstream.requests) == 2  # another parameter set, fetched once more
    assert upstream.requests[-1][1] == {"downsample": "3"}


@pytest.mark.parametrize("service", ["image_download", "projection_image_download"])
def test_the_other_services_fetch_from_the_same_service_upstream(client, upstream, service):
    projection = ProjectionImageFactory()
    upstream.images[projection.id] = JPEG
    response = client.get(f"/api/v2/{service}/{projection.id}", {"view": "projection"})
    assert response.status_code == 200 and body(response) == JPEG
    assert upstream.requests == [(f"/api/v2/{service}/{projection.id}", {"view": "projection"})]


def test_the_copies_of_one_image_are_bounded(client, upstream, settings):
    settings.CELLTYPES_IMAGE_VARIANTS_MAX = 2
    plane = SubImageFactory()
    upstream.images[plane.id] = JPEG
    for downsample in range(4):
        assert client.get(f"/api/v2/image_download/{plane.id}", {"downsample": downsample}).status_code == 200
    assert len(list(image_fetch.image_folder(plane.id).iterdir())) == 2
    assert client.get(f"/api/v2/image_download/{plane.id}", {"downsample": 3}).status_code == 200
    assert len(upstream.requests) == 4  # the newest copies stayed


def test_concurrent_first_requests_fetch_once(client, upstream):
    plane = SubImageFactory()
    upstream.images[plane.id] = JPEG
    upstream.delay = 0.3
    wanted = image_fetch.image_request_parse("image_download", plane.id, {})
    client_ = UpstreamClient(upstream.url, timeout=5)
    results = []

    def fetch():
        results.append(image_fetch.image_fetch(wanted, client_, deadline=5, lock_wait=5).read_bytes())

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [JPEG] * 3 and len(upstream.requests) == 1


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"downsample": "-1"}, "downsample must be a whole number from 0 to 16"),
        ({"quality": "101"}, "quality must be a whole number from 0 to 100"),
        ({"width": "0"}, "width must be a whole number"),
        ({"top": "1e3"}, "top must be a whole number"),
        ({"view": "xy"}, "view must be one of expression, projection"),
        ({"expression": "maybe"}, "expression must be true or false"),
        ({"range": "0,1,2"}, "range must be 6 comma-separated numbers"),
        ({"rgb": "a,b"}, "rgb must be 1 to 8 comma-separated numbers"),
        ({"atlas": "x"}, "atlas must be a whole number"),
        ({"downsample_dimensions": "yes"}, "downsample_dimensions must be true or false"),
    ],
)
def test_parameters_allens_service_refuses_are_a_400(client, upstream, query, fragment):
    plane = SubImageFactory()
    response = client.get(f"/api/v2/section_image_download/{plane.id}", query)
    assert response.status_code == 400 and fragment in envelope(response)["msg"]
    assert upstream.requests == []


def test_what_cannot_be_fetched_answers_allens_envelope(client, upstream, settings):
    missing, failing, text, slow = SubImageFactory.create_batch(4)
    upstream.failing.add(failing.id)
    upstream.not_an_image.add(text.id)
    upstream.images[slow.id] = JPEG
    assert client.get("/api/v2/image_download/123").status_code == 404  # no image listed with this id
    assert envelope(client.get(f"/api/v2/image_download/{missing.id}"))["msg"].endswith("answered HTTP 404")
    assert client.get(f"/api/v2/image_download/{missing.id}").status_code == 502
    assert client.get(f"/api/v2/image_download/{failing.id}").status_code == 502
    not_image = client.get(f"/api/v2/image_download/{text.id}")
    assert not_image.status_code == 502 and "not a JPEG or PNG" in envelope(not_image)["msg"]
    settings.CELLTYPES_UPSTREAM_TIMEOUT = 0.2
    upstream.delay = 1.0
    assert client.get(f"/api/v2/image_download/{slow.id}").status_code == 504
    assert not list(image_fetch.image_folder(slow.id).glob("*"))  # nothing half-written kept
    settings.CELLTYPES_UPSTREAM = ""
    offline = client.get(f"/api/v2/image_download/{slow.id}")
    assert offline.status_code == 404 and "no upstream is configured" in envelope(offline)["msg"]


def test_an_image_bigger_than_the_limit_is_not_kept(client, upstream, settings):
    settings.CELLTYPES_IMAGE_MAX_BYTES = len(JPEG) - 1
    plane = SubImageFactory()
    upstream.images[plane.id] = JPEG
    response = client.get(f"/api/v2/image_download/{plane.id}")
    assert response.status_code == 502 and "CELLTYPES_IMAGE_MAX_BYTES" in envelope(response)["msg"]
    assert not image_fetch.image_folder(plane.id).exists() or not any(image_fetch.image_folder(plane.id).iterdir())


def test_an_image_id_is_never_taken_for_one_of_our_swc_drawings(client, settings):
    """Were an image of Allen's to carry the id of an SWC file held here, Allen's image service serves the image:
    the old URL of our drawings redirects only ids that are no image's. (The session's file store: it holds the SWC.)"""
    swc_file_id = 527109147  # the held SWC of specimen 488683425
    assert client.get(f"/api/v2/section_image_download/{swc_file_id}", {"view": "xy"}).status_code == 308
    SubImageFactory(id=swc_file_id)
    with image_upstream() as stub:
        settings.CELLTYPES_UPSTREAM = stub.url
        stub.images[swc_file_id] = JPEG
        assert client.get(f"/api/v2/section_image_download/{swc_file_id}", {"view": "xy"}).status_code == 400
        response = client.get(f"/api/v2/section_image_download/{swc_file_id}")
        assert response.status_code == 200 and body(response) == JPEG
    shutil.rmtree(image_fetch.image_folder(swc_file_id))


def test_head_answers_like_get_without_the_body(client, upstream):
    plane = SubImageFactory()
    upstream.images[plane.id] = JPEG
    head = client.head(f"/api/v2/image_download/{plane.id}")
    assert head.status_code == 200 and head["Content-Type"] == "image/jpeg" and body(head) == b""
    assert client.post(f"/api/v2/image_download/{plane.id}").status_code == 405
