"""UpstreamClient.rma_page, the mirror's page fetch, against a loopback server misbehaving on purpose (synthetic
answers): what may pass is retryable (UpstreamUnavailable), what will not is an UpstreamError, each saying which."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from celltypes.sync.client import UpstreamClient, UpstreamError, UpstreamUnavailable

BODY = b'{"success": true, "id": 0, "start_row": 0, "num_rows": 1, "total_rows": 1, "msg": [{"id": 1, "name": "x"}]}'


class Misbehaving(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _head(self, status: int = 200, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def do_GET(self) -> None:
        mode = self.path.rsplit("q=", 1)[1]
        self.close_connection = True
        if mode == "good":
            self._head(Content_Length=str(len(BODY)))
            self.wfile.write(BODY)
        elif mode == "short":  # announces the whole body, sends 30 bytes, closes
            self._head(Content_Length=str(len(BODY)))
            self.wfile.write(BODY[:30])
        elif mode == "chunk_cut":  # one chunk, then the connection closes without the last chunk
            self._head(Transfer_Encoding="chunked")
            self.wfile.write(b"1e\r\n" + BODY[:30] + b"\r\n")
        elif mode == "unframed_cut":
            self._head()
            self.wfile.write(BODY[:30])
        elif mode == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "e503":
            self._head(503, Content_Length="5")
            self.wfile.write(b"busy!")
        elif mode == "garbage":
            self._head(Content_Length="9")
            self.wfile.write(b"\x00garbage!")
        elif mode == "html":
            page = b"<html><body>maintenance</body></html>"
            self._head(Content_Length=str(len(page)), Content_Type="text/html")
            self.wfile.write(page)
        elif mode == "no_total":
            body = b'{"success": true, "msg": []}'
            self._head(Content_Length=str(len(body)))
            self.wfile.write(body)
        elif mode == "huge":
            self._head(Content_Length=str(10**9))
        elif mode == "hang":
            time.sleep(1.5)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # the client hung up on purpose


@pytest.fixture(scope="module")
def client():
    server = QuietServer(("127.0.0.1", 0), Misbehaving)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield UpstreamClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=0.5)
    server.shutdown()
    server.server_close()


def test_a_good_page_is_allens_envelope(client):
    assert client.rma_page("good", deadline=5, max_bytes=10_000)["msg"] == [{"id": 1, "name": "x"}]


@pytest.mark.parametrize(
    ("mode", "retryable", "message"),
    [
        ("short", True, "failed while sending its answer"),
        ("chunk_cut", True, "failed while sending its answer"),
        ("unframed_cut", True, "it was not framed, so it may have been cut short"),
        ("drop", True, "could not be reached"),
        ("e503", True, "answered HTTP 503"),
        ("hang", True, "did not answer within the timeout"),
        ("garbage", False, r"a body that is not JSON \(9 bytes starting b'\\x00garbage!'\)"),
        ("html", False, "a body that is not JSON"),
        ("no_total", False, "without a total_rows count"),
        ("huge", False, "announced 1,000,000,000 bytes, more than the 10,000 allowed"),
    ],
)
def test_a_page_that_is_not_whole_allens_envelope_is_an_error_saying_whether_to_ask_again(
    client, mode, retryable, message
):
    with pytest.raises(UpstreamError, match=message) as failure:
        client.rma_page(mode, deadline=5, max_bytes=10_000)
    assert isinstance(failure.value, UpstreamUnavailable) is retryable
