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

SERVICES = ("/api/v2/section_image_download/", "/api/v2/image_download/", "/api/v2/projection_image_download/")


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


# --- a synthetic cell with images, for the live-server tests (browser, AllenSDK) ---------------------------------
DATA_SET = 995_000_000_001
PROJECTIONS = {995_000_000_101: "Minimum Intensity Projection (synthetic)", 995_000_000_102: "Maximum (synthetic)"}
PLANES = [995_000_000_201 + n for n in range(5)]
WIDTH, HEIGHT = 640, 480


def _disc(centre_x: int, centre_y: int, radius: float, inside: int, outside: int):
    def shade(bx: int, by: int) -> int:
        return inside if (bx - centre_x) ** 2 + (by - centre_y) ** 2 <= radius**2 else outside

    return shade


def synthetic_cell_images(stub: ImageUpstream) -> None:
    """Synthetic JPEGs: a dark disc on light ground (the minimum projection), its negative (the maximum), and the
    planes, whose disc grows so that stepping through the stack shows; the last plane is listed in the records but
    the upstream cannot give it."""
    from tests.support.synthetic_jpeg import synthetic_jpeg

    minimum, maximum = PROJECTIONS
    stub.images[minimum] = synthetic_jpeg(WIDTH, HEIGHT, _disc(40, 30, 18, 40, 225))
    stub.images[maximum] = synthetic_jpeg(WIDTH, HEIGHT, _disc(40, 30, 18, 230, 20))
    for n, plane in enumerate(PLANES[:-1]):
        stub.images[plane] = synthetic_jpeg(WIDTH, HEIGHT, _disc(40, 30, 4 + 4 * n, 60, 210 - 10 * n))


def synthetic_image_records(db_path: str, specimen_id: int) -> None:
    """Write the synthetic data set, projection images and planes (sections 100-104) of `specimen_id` into the
    SQLite database of a throwaway server, before it starts."""
    import sqlite3

    with sqlite3.connect(db_path) as db:
        db.execute(
            "INSERT INTO data_sets (id, name, specimen_id, failed, delegate, expression) VALUES (?, ?, ?, 0, 0, 0)",
            (DATA_SET, "synthetic image stack", specimen_id),
        )
        columns = "id, annotated, failed, image_type, width, height, image_width, image_height, section_number"
        for image_id, image_type in PROJECTIONS.items():
            db.execute(
                f"INSERT INTO projection_images ({columns}, specimen_id, data_set_id) "
                "VALUES (?, 0, 0, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (image_id, image_type, WIDTH, HEIGHT, WIDTH, HEIGHT, specimen_id, DATA_SET),
            )
        for n, plane in enumerate(PLANES):
            db.execute(
                f"INSERT INTO sub_images ({columns}, data_set_id) VALUES (?, 0, 0, 'Primary', ?, ?, ?, ?, ?, ?)",
                (plane, WIDTH, HEIGHT, WIDTH, HEIGHT, 100 + n, DATA_SET),
            )
