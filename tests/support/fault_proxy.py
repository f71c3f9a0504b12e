"""A threaded HTTP proxy (stdlib only) in front of an upstream URL that injects faults by rule, for the sync tests.

Each request is matched against the rules in order; the first active rule whose `match` occurs in the request
target (path + query, percent-decoded) decides what happens:

- ``drop``: the connection is closed without an answer;
- ``status``: an HTTP error (500 unless told) with a short JSON body;
- ``garbage``: 200 with a body that is not Allen's JSON envelope (``body``; by default not JSON at all);
- ``short``: the upstream's answer with its full Content-Length but only half the body, then the connection closed;
- ``hang``: nothing is sent for ``hang_seconds`` (past the client's timeout), then the connection is closed.

A rule lets its first ``after`` matching requests through and then faults the next ``times`` (None: every one).
Everything else is forwarded. ``counts`` holds the requests per kind (``forwarded`` for the untouched ones) and
``seen`` every request target with what was done to it, ``timings`` when each forwarded one was asked of the
upstream and when its answer had arrived (time.monotonic()). All waits are bounded; ``stop`` wakes a hanging handler.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS = ("drop", "status", "garbage", "short", "hang")
FORWARDED = "forwarded"
NOT_JSON = b"<html><body>Service temporarily unavailable</body></html>"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
CHUNK = 1 << 16
UPSTREAM_TIMEOUT = 60.0


@dataclass
class Rule:
    kind: str
    match: str = ""  # a substring of the percent-decoded request target; "" matches every request
    times: int | None = 1  # how many matching requests to fault; None = all of them
    after: int = 0  # matching requests let through before the first fault
    status: int = 500
    body: bytes = NOT_JSON
    hang_seconds: float = 30.0
    matched: int = 0  # requests this rule matched so far
    faulted: int = 0  # of those, the ones it faulted

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")

    def claims(self, target: str) -> bool:
        """Whether this rule faults `target` (counting it when it matches)."""
        if self.match not in target:
            return False
        self.matched += 1
        if self.matched <= self.after or (self.times is not None and self.faulted >= self.times):
            return False
        self.faulted += 1
        return True


@dataclass
class FaultProxy:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    seen: list[tuple[str, str]] = field(default_factory=list, repr=False)  # (kind, target) in arrival order
    timings: list[tuple[str, float, float]] = field(default_factory=list, repr=False)  # forwarded: (target, start, end)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def add(self, kind: str, match: str = "", **options) -> Rule:
        rule = Rule(kind, match, **options)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forget the rules and the counts."""
        with self._lock:
            self.rules.clear()
            self.counts.clear()
            self.seen.clear()
            self.timings.clear()

    def count(self, match: str = "", kind: str | None = None) -> int:
        """Requests whose target contains `match` (and that were handled as `kind`, if given)."""
        with self._lock:
            return sum(1 for k, target in self.seen if match in target and (kind is None or k == kind))

    def decide(self, target: str) -> Rule | None:
        with self._lock:
            rule = next((r for r in self.rules if r.claims(target)), None)
            kind = rule.kind if rule else FORWARDED
            self.counts[kind] += 1
            self.seen.append((kind, target))
            return rule


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    upstream = urllib.parse.urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            target = urllib.parse.unquote_plus(self.path)
            rule = proxy.decide(target)
            self.close_connection = True
            if rule is None:
                self._forward(timed_as=target)
            elif rule.kind == "drop":
                self._abort()
            elif rule.kind == "status":
                self._answer(rule.status, json.dumps({"success": False, "msg": "injected fault"}).encode())
            elif rule.kind == "garbage":
                self._answer(200, rule.body)
            elif rule.kind == "short":
                self._forward(cut_short=True)
            else:  # hang
                proxy._stopping.wait(rule.hang_seconds)
                self._abort()

        def _abort(self) -> None:
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def _forward(self, *, cut_short: bool = False, timed_as: str | None = None) -> None:
            started = time.monotonic()
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=UPSTREAM_TIMEOUT)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                body = response.read()  # the demo files are small enough to hold; keeps the framing simple
            except OSError as exc:
                self._answer(502, json.dumps({"success": False, "msg": f"proxy: {exc}"}).encode())
                return
            finally:
                connection.close()
            if timed_as is not None:  # recorded before the client has the answer, so a test reading it sees it
                with proxy._lock:
                    proxy.timings.append((timed_as, started, time.monotonic()))
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(body[: len(body) // 2] if cut_short else body)
                self.wfile.flush()
            except OSError:
                return
            if cut_short:
                self._abort()

    return Handler


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """Serve a FaultProxy for `upstream` on a free loopback port; yield it with `url` set."""
    proxy = FaultProxy(upstream.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
