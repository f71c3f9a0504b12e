"""A stand-in for Allen's image download services on loopback: synthetic JPEGs by image id.

`images` maps an image id to its JPEG; every request's path and query is recorded in `requests`. `delay` slows
every answer (timeouts); ids in `failing` answer HTTP 500; ids in `not_an_image` answer 200 with a text body.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICES = ("/api/v2/section_image_download/", "/api/v2/image_download/")


@dataclass
class ImageUpstream:
    url: str = ""
    images: dict[int, bytes] = field(default_factory=dict)
    failing: set[int] = field(default_factory=set)
    not_an_image: set[int] = field(default_factory=set)
    delay: float = 0.0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _handler(stub: ImageUpstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (a timeout test)
                pass

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            stub.requests.append((url.path, dict(urllib.parse.parse_qsl(url.query))))
            time.sleep(stub.delay)
            prefix = next((p for p in SERVICES if url.path.startswith(p)), None)
            tail = url.path[len(prefix) :] if prefix else ""
            image_id = int(tail) if tail.isdigit() else None
            if image_id in stub.failing:
                self._send(500, b"stub: internal error", "text/plain")
            elif image_id in stub.not_an_image:
                self._send(200, b"stub: this is not an image", "text/plain")
            elif image_id in stub.images:
                self._send(200, stub.images[image_id], "image/jpeg")
            else:
                self._send(404, b"stub: no such image", "text/plain")

    return Handler


@contextmanager
def image_upstream() -> Iterator[ImageUpstream]:
    """An ImageUpstream serving on a free loopback port while the block runs."""
    stub = ImageUpstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
