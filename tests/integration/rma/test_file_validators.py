"""Downloads carry validators of the bytes served: the ETag and Repr-Digest are their sha256, so a changed file
never answers 304, and a Range request honours If-Range (a resumed download of a file that changed meanwhile gets
the whole new file, not a splice of two)."""

import base64
import hashlib

import pytest

from celltypes.atlas import filestore
from celltypes.atlas.models import WellKnownFile
from celltypes.atlas.services.loading import DEMO_DIR

pytestmark = pytest.mark.django_db

FIT = 12793581734  # the demo set's copy of 472451419_fit.json (a minted id: Allen's is 497235805)
FIT_BYTES = (
    DEMO_DIR / "OpenSourceBrain_AllenInstituteNeuroML/CellTypesDatabase/models/472451419/472451419_fit.json"
).read_bytes()
URL = f"/api/v2/well_known_file_download/{FIT}"


@pytest.fixture(autouse=True)
def store(settings, tmp_path):
    settings.CELLTYPES_DATA_DIR = tmp_path / "data"
    settings.CELLTYPES_UPSTREAM = ""
    replace_file(FIT_BYTES)


def replace_file(body: bytes) -> None:
    """Store `body` as the file and record it, as load_demo or a sync would."""
    stored = filestore.write_atomic(filestore.well_known_file_path(FIT), [body])
    WellKnownFile.objects.filter(id=FIT).update(size=stored.size, sha256=stored.sha256)


def etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()}"'


def test_the_etag_and_digest_are_the_sha256_of_the_bytes_served(client):
    response = client.get(URL)
    assert response.status_code == 200 and response.getvalue() == FIT_BYTES
    assert response["ETag"] == etag_of(FIT_BYTES)
    assert response["Repr-Digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(FIT_BYTES).digest()).decode()}:"
    assert response["Accept-Ranges"] == "bytes"


def test_a_changed_file_is_sent_again_not_answered_304(client):
    first = client.get(URL)
    assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    changed = FIT_BYTES.replace(b'"passive"', b'"passive" ', 1)  # synthetic: another version of the file
    replace_file(changed)
    again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again.getvalue() == changed
    assert again["ETag"] == etag_of(changed)


def test_if_range_resumes_only_the_same_file(client):
    etag = client.get(URL)["ETag"]
    resumed = client.get(URL, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=etag)
    assert resumed.status_code == 206 and resumed.getvalue() == FIT_BYTES[100:]
    assert resumed["Content-Range"] == f"bytes 100-{len(FIT_BYTES) - 1}/{len(FIT_BYTES)}"

    changed = FIT_BYTES + b"\n"
    replace_file(changed)
    stale = client.get(URL, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=etag)
    assert stale.status_code == 200 and stale.getvalue() == changed
    dated = client.get(URL, HTTP_RANGE="bytes=100-", HTTP_IF_RANGE="Wed, 21 Oct 2015 07:28:00 GMT")
    assert dated.status_code == 200  # no Last-Modified is sent, so no date validates a range


def test_the_converted_nwb_carries_the_etag_of_the_converted_bytes(client, settings, stub_upstream):
    nwb = 491198851  # an NWB recorded by the demo set; the stub serves a raw MIES NWB, converted on the way out
    raw = (DEMO_DIR / "ipfx/tests/data/Sst-IRES-CreAi14-395722.01.01.01.nwb").read_bytes()
    stub_upstream.files[nwb] = raw
    settings.CELLTYPES_UPSTREAM = stub_upstream.url
    response = client.get(f"/api/v2/well_known_file_download/{nwb}")
    served = response.getvalue()
    assert served != raw and response["ETag"] == etag_of(served)
