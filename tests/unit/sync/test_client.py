"""The upstream client against a stub upstream on loopback: answers, refusals, timeouts, cut-off bodies."""

import pytest

from celltypes.sync.client import UpstreamClient, UpstreamError


def test_query_returns_rows_and_refusals_carry_allens_message(stub_upstream):
    stub_upstream.queries["model::Gene"] = {"success": True, "msg": [{"id": 1}], "num_rows": 1}
    client = UpstreamClient(stub_upstream.url + "/", timeout=5)
    assert client.rma_query("model::Gene") == [{"id": 1}]
    with pytest.raises(UpstreamError, match=r"refused the query \(HTTP 400\): stub: no answer for model::Nope"):
        client.rma_query("model::Nope")
    stub_upstream.queries["model::Odd"] = {"msg": []}
    with pytest.raises(UpstreamError, match="without Allen's envelope"):
        client.rma_query("model::Odd")
    stub_upstream.queries["model::Odd"] = {"success": True, "msg": "no rows"}
    with pytest.raises(UpstreamError, match="without a list of records"):
        client.rma_query("model::Odd")


def test_file_body_streams_whole_or_fails(stub_upstream):
    stub_upstream.files[7] = b"x" * 3_000_000
    client = UpstreamClient(stub_upstream.url, timeout=5)
    assert b"".join(client.file_chunks(7)) == stub_upstream.files[7]
    with pytest.raises(UpstreamError, match="answered HTTP 404"):
        b"".join(client.file_chunks(8))
    stub_upstream.cut_short.add(7)
    with pytest.raises(UpstreamError, match="well_known_file_download/7"):
        b"".join(client.file_chunks(7))


def test_timeout_and_unreachable_are_told_apart(stub_upstream):
    stub_upstream.delay = 1.0
    with pytest.raises(UpstreamError, match="did not answer within the timeout") as slow:
        UpstreamClient(stub_upstream.url, timeout=0.2).rma_query("model::Gene")
    assert slow.value.timed_out
    with pytest.raises(UpstreamError, match="could not be reached") as down:
        UpstreamClient("http://127.0.0.1:9", timeout=2).rma_query("model::Gene")
    assert not down.value.timed_out
