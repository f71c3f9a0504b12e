"""The fault proxy against a tiny stdlib server (synthetic bodies): each kind of fault as a client sees it, rules
that count and let requests through, and the counts per kind."""

import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.fault_proxy import FaultProxy, Rule, fault_proxy

BODY = json.dumps({"success": True, "msg": [{"id": n} for n in range(200)]}).encode()  # synthetic


class Upstream(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("X-Path", self.path)
        self.end_headers()
        self.wfile.write(BODY)


@pytest.fixture(scope="module")
def proxy() -> Iterator[FaultProxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with fault_proxy(f"http://127.0.0.1:{server.server_address[1]}") as running:
            yield running
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_rules(proxy):
    proxy.clear()


def get(proxy: FaultProxy, path: str, timeout: float = 5) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection(proxy.url.removeprefix("http://"), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_untouched_requests_are_forwarded_with_path_and_query(proxy):
    status, headers, body = get(proxy, "/api/v2/data/query.json?q=model::Specimen")
    assert (status, body) == (200, BODY)
    assert headers["X-Path"] == "/api/v2/data/query.json?q=model::Specimen"
    assert headers["Content-Length"] == str(len(BODY))
    assert proxy.counts == {"forwarded": 1}
    ((target, started, ended),) = proxy.timings
    assert target == "/api/v2/data/query.json?q=model::Specimen" and started <= ended


def test_drop_closes_without_an_answer(proxy):
    proxy.add("drop", "query.json")
    with pytest.raises(http.client.RemoteDisconnected):
        get(proxy, "/api/v2/data/query.json?q=x")
    assert get(proxy, "/api/v2/data/query.json?q=x")[0] == 200  # times=1: the next one passes
    assert proxy.counts == {"drop": 1, "forwarded": 1}


def test_status_answers_the_error(proxy):
    proxy.add("status", times=None, status=503)
    assert [get(proxy, "/a")[0] for _ in range(3)] == [503, 503, 503]
    assert proxy.counts["status"] == 3


def test_garbage_is_a_200_that_is_not_the_envelope(proxy):
    proxy.add("garbage")
    proxy.add("garbage", body=b'{"rows": []}')
    status, _, body = get(proxy, "/x")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert json.loads(get(proxy, "/x")[2]) == {"rows": []}


def test_short_sends_half_the_body_under_the_full_length(proxy):
    proxy.add("short")
    with pytest.raises(http.client.IncompleteRead) as cut:
        get(proxy, "/file")
    assert len(cut.value.partial) == len(BODY) // 2
    assert cut.value.expected == len(BODY) - len(BODY) // 2


def test_hang_outlasts_the_client_timeout(proxy):
    proxy.add("hang", hang_seconds=3)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        get(proxy, "/slow", timeout=0.5)
    assert 0.4 < time.monotonic() - started < 2.5
    assert proxy.counts["hang"] == 1


def test_a_rule_matches_by_target_and_lets_the_first_ones_through(proxy):
    proxy.add("status", "start_row$eq", after=2, times=1)
    targets = [f"/q?q=model::Specimen,rma::options[start_row$eq{n}]" for n in range(4)]
    assert [get(proxy, t)[0] for t in targets] == [200, 200, 500, 200]
    assert get(proxy, "/other")[0] == 200
    assert proxy.count("start_row$eq") == 4
    assert proxy.count("start_row$eq2", kind="status") == 1


def test_the_target_is_matched_percent_decoded(proxy):
    proxy.add("status", "model::Donor,rma::options[num_rows$eq5]")
    assert get(proxy, "/q?q=model%3A%3ADonor%2Crma%3A%3Aoptions%5Bnum_rows%24eq5%5D")[0] == 500


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fault kind 'explode'"):
        Rule("explode")
