"""Bad input on id routes and on Range headers answers 4xx, never 500.

A specimen id of 2^63 or more does not fit the database's integer; a Range position of 4,301 digits is more than
Python turns into an int by default. Neither may reach code that chokes on it.
"""

import pytest

pytestmark = pytest.mark.django_db

TOO_BIG = str(2**63)  # 19 digits: one more than a signed 64-bit id can hold
HUGE = "9" * 4301
HELD_SWC_FILE = 491459173  # recorded by the demo set; served below only after a store of our own

ID_ROUTES = [
    "/cell/{}/",
    "/cell/{}/ephys/",
    "/cell/{}/morphology/",
    "/cell/{}/models/",
    "/cell/{}/morphology/plot.json",
    "/cell/{}/morphology/preview/xy.png",
    "/cell/{}/morphology/preview/yz.svg",
    "/cell/{}/morphology/preview/xy/fragment",
    "/api/v2/section_image_download/{}",
    "/api/v2/image_download/{}",
    "/api/v2/projection_image_download/{}",
    "/swc_projection/{}/xy.png",
    "/api/v2/well_known_file_download/{}",
    "/neuronal_model/download/{}",
]


@pytest.mark.parametrize("route", ID_ROUTES)
def test_an_id_beyond_64_bits_is_not_found(client, route):
    response = client.get(route.format(TOO_BIG))
    assert response.status_code == 404


def test_the_largest_id_that_fits_is_looked_up(client):
    assert client.get("/cell/999999999999999999/morphology/plot.json").status_code == 404
    assert client.get("/cell/313862022/morphology/plot.json").status_code in (200, 404)


@pytest.fixture
def held_file(settings, tmp_path):
    from celltypes.atlas import filestore
    from celltypes.atlas.models import WellKnownFile

    settings.CELLTYPES_DATA_DIR = tmp_path / "data"
    body = b"# synthetic SWC for the Range tests\n1 1 0 0 0 5 -1\n"
    stored = filestore.store_well_known_file(HELD_SWC_FILE, body)
    WellKnownFile.objects.filter(id=HELD_SWC_FILE).update(size=stored.size, sha256=stored.sha256)
    return body


@pytest.mark.parametrize(
    "header",
    [f"bytes={HUGE}-", f"bytes=0-{HUGE}", f"bytes=-{HUGE}", f"bytes={HUGE}-{HUGE}", "bytes=99999999999999999999-"],
)
def test_a_range_with_an_absurd_number_is_not_satisfiable(client, held_file, header):
    response = client.get(f"/api/v2/well_known_file_download/{HELD_SWC_FILE}", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(held_file)}"


def test_ordinary_ranges_still_work(client, held_file):
    url = f"/api/v2/well_known_file_download/{HELD_SWC_FILE}"
    first = client.get(url, HTTP_RANGE="bytes=2-8")
    assert (first.status_code, first.getvalue(), first["Content-Range"]) == (
        206,
        held_file[2:9],
        f"bytes 2-8/{len(held_file)}",
    )
    tail = client.get(url, HTTP_RANGE="bytes=-5")
    assert (tail.status_code, tail.getvalue()) == (206, held_file[-5:])
    beyond = client.get(url, HTTP_RANGE=f"bytes={len(held_file)}-")
    assert beyond.status_code == 416
