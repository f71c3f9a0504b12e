"""Which upstream failures are worth asking again, the digests an upstream publishes, and the kind check of a
fetched file (synthetic bodies, named as such)."""

import base64
import hashlib

import pytest

from celltypes.atlas import choices
from celltypes.sync.client import UpstreamError, http_status_error, published_sha256
from celltypes.sync.file_checks import FileKindError, well_known_file_check


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (503, True), (400, False), (404, False)])
def test_a_5xx_may_pass_a_4xx_will_not(status, retryable):
    error = http_status_error("http://upstream/x", status)
    assert isinstance(error, UpstreamError) and error.retryable is retryable
    assert str(error) == f"http://upstream/x answered HTTP {status}"


def test_published_digests_in_each_header_form():
    digest = hashlib.sha256(b"body").digest()
    b64 = base64.b64encode(digest).decode()
    assert published_sha256({"Repr-Digest": f"sha-512=:AAAA:, sha-256=:{b64}:"}) == digest.hex()
    assert published_sha256({"Content-Digest": f"sha-256=:{b64}:"}) == digest.hex()
    assert published_sha256({"Digest": f"MD5=xyz, SHA-256={b64}"}) == digest.hex()
    assert published_sha256({"Repr-Digest": "sha-512=:AAAA:"}) is None
    assert published_sha256({}) is None
    with pytest.raises(UpstreamError, match="not a sha-256 digest"):
        published_sha256({"Repr-Digest": "sha-256=:AAAA:"})


@pytest.mark.parametrize(
    ("name", "type_id", "body", "problem"),
    [
        ("cell.swc", choices.RECONSTRUCTION[0], b"<html><body>Sign in</body></html>", "an HTML page"),
        ("fit.json", None, b"  <!DOCTYPE HTML>\n<html>", "an HTML page"),
        ("thumb.png", None, b"GIF89a", "not a PNG image"),
        ("m_marker_m.swc", choices.MARKER[0], b"1,2,3\n", "line 1"),
    ],
)
def test_a_body_that_is_not_its_kind_is_refused(tmp_path, name, type_id, body, problem):
    path = tmp_path / "body"
    path.write_bytes(body)  # synthetic
    with pytest.raises(FileKindError, match=problem) as refused:
        well_known_file_check(path, type_id=type_id, file_name=name)
    assert not refused.value.retryable


def test_a_marker_file_named_swc_is_checked_as_a_marker(tmp_path):
    path = tmp_path / "body"
    path.write_bytes(b"#x,y,z,radius,shape,name,comment,color_r,color_g,color_b\n1,2,3,0,1,10,,255,0,0\n")  # synthetic
    well_known_file_check(path, type_id=choices.MARKER[0], file_name="cell_marker_m.swc")
    with pytest.raises(FileKindError):
        well_known_file_check(path, type_id=choices.RECONSTRUCTION[0], file_name="cell_m.swc")
