"""The upstream Allen API over HTTP: RMA queries and well-known file downloads, with timeouts and clear errors.

Plain Python (no Django): it returns Allen's records as dicts and file bodies as chunks of bytes.

A file body is only handed on whole: it must be framed (Content-Length, chunked encoding, or a published digest,
so that a dropped connection cannot pass for the end of the file), it must not be an HTML page, it must match the
size and sha256 the upstream publishes where it does (Content-Length; `Repr-Digest`/`Content-Digest`, RFC 9530, or
the older `Digest`), and it must arrive within an overall deadline, not just within a timeout per read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

CHUNK = 1 << 20
# `sha-256=:<base64>:` in Repr-Digest / Content-Digest (RFC 9530); `SHA-256=<base64>` in Digest (RFC 3230).
_DIGEST_FIELDS = {
    "Repr-Digest": re.compile(r"(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):", re.IGNORECASE),
    "Content-Digest": re.compile(r"(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):", re.IGNORECASE),
    "Digest": re.compile(r"(?:^|,)\s*sha-256=([A-Za-z0-9+/=]+)", re.IGNORECASE),
}


class UpstreamError(Exception):
    """The upstream could not answer: unreachable, too slow, an HTTP error, or a body that is not Allen's.

    `retryable` says whether asking again later may succeed (a timeout, an unreachable host, a 5xx, a body cut
    short); a 4xx, a malformed answer or a file of the wrong kind will fail alike every time.
    """

    def __init__(self, message: str, *, timed_out: bool = False, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.retryable = timed_out if retryable is None else retryable


class UpstreamUnavailable(UpstreamError):
    """A failure that may pass: timeout, unreachable, HTTP 5xx, a body cut short or corrupted in transit."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message, timed_out=timed_out, retryable=True)


class DeadlinePassed(UpstreamUnavailable):
    """The body was still arriving when the overall deadline passed (a slow upstream, or a very big file)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, timed_out=True)


def http_status_error(url: str, status: int, detail: str = "") -> UpstreamError:
    """The error for an HTTP error status: a 5xx may pass (retryable), a 4xx will not."""
    message = f"{url} answered HTTP {status}{detail}"
    return UpstreamUnavailable(message) if status >= 500 else UpstreamError(message)


def published_sha256(headers) -> str | None:
    """The sha256 (hex) the response publishes for its body, if any; UpstreamError when it is malformed."""
    for name, pattern in _DIGEST_FIELDS.items():
        match = pattern.search(headers.get(name) or "")
        if match:
            try:
                raw = base64.b64decode(match.group(1), validate=True)
            except binascii.Error:
                raw = b""
            if len(raw) != 32:
                raise UpstreamError(f"the upstream's {name} header is not a sha-256 digest: {headers.get(name)!r}")
            return raw.hex()
    return None


@dataclass
class UpstreamClient:
    base_url: str
    timeout: float = 30.0  # seconds to connect, and of silence between two reads
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    def rma_query(self, q: str) -> list[dict]:
        """The `msg` rows of `query.json?q=<q>`; UpstreamError unless Allen's envelope says success."""
        url = f"{self.base_url}/api/v2/data/query.json"
        response = self._get(url, params={"q": q})
        if response.status_code >= 500:
            raise http_status_error(url, response.status_code)
        try:
            body = response.json()
        except ValueError:
            raise UpstreamError(f"{url} answered HTTP {response.status_code} with a body that is not JSON") from None
        return _envelope(url, response.status_code, body)["msg"]

    def rma_page(self, q: str, *, deadline: float, max_bytes: int) -> dict:
        """Allen's whole envelope for `query.json?q=<q>` (success, start_row, num_rows, total_rows, msg), checked.

        The body must arrive whole within `deadline` seconds and be at most `max_bytes` long; a body cut short
        (fewer bytes than its Content-Length, or a broken chunked encoding) is UpstreamUnavailable (retryable),
        one that is not JSON or not the envelope is UpstreamError.
        """
        url = f"{self.base_url}/api/v2/data/query.json"
        ends_at = time.monotonic() + deadline
        response = self._get(
            url,
            params={"q": q},
            stream=True,
            headers={"Accept-Encoding": "identity"},  # Content-Length is then the length of what we read
            read_timeout=min(self.timeout, deadline),
        )
        with response:
            if response.status_code >= 500:
                raise http_status_error(url, response.status_code)
            expected_size = _content_length(url, response)
            if expected_size is not None and expected_size > max_bytes:
                raise UpstreamError(f"{url} announced {expected_size:,} bytes, more than the {max_bytes:,} allowed")
            received = bytearray()
            for chunk in _body(url, response, ends_at, self.timeout):
                received += chunk
                if len(received) > max_bytes:
                    raise UpstreamError(f"{url} sent more than the {max_bytes:,} bytes allowed")
            if expected_size is not None and len(received) != expected_size:
                raise UpstreamUnavailable(f"{url} stopped after {len(received)} of {expected_size} bytes")
        try:
            body = json.loads(bytes(received))
        except ValueError:
            raise UpstreamError(
                f"{url} answered HTTP {response.status_code} with a body that is not JSON "
                f"({len(received)} bytes starting {bytes(received[:40])!r})"
            ) from None
        envelope = _envelope(url, response.status_code, body)
        total = envelope.get("total_rows")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise UpstreamError(f"{url} answered without a total_rows count: {total!r}")
        return envelope

    def file_chunks(self, file_id: int, *, deadline: float | None = None) -> Iterator[bytes]:
        """The body of well-known file `file_id`, streamed, checked as the module docstring says.

        `deadline`: seconds for the whole body; DeadlinePassed when it is still arriving then. The error, when there
        is one, is raised after the last chunk, so a caller writing the chunks keeps nothing.
        """
        url = f"{self.base_url}/api/v2/well_known_file_download/{file_id}"
        ends_at = None if deadline is None else time.monotonic() + deadline
        response = self._get(
            url,
            stream=True,
            headers={"Accept-Encoding": "identity"},  # the published size and digest are of the bytes themselves
            read_timeout=self.timeout if deadline is None else min(self.timeout, deadline),
        )
        with response:
            if response.status_code != 200:
                raise http_status_error(url, response.status_code)
            if "text/html" in response.headers.get("Content-Type", "").lower():
                raise UpstreamError(f"{url} answered with an HTML page (Content-Type text/html), not the file")
            expected_size = _content_length(url, response)
            expected_sha256 = published_sha256(response.headers)
            chunked = "chunked" in response.headers.get("Transfer-Encoding", "").lower()
            if expected_size is None and not chunked and expected_sha256 is None:
                raise UpstreamError(
                    f"{url} sent the file without Content-Length, chunked encoding or a digest, so a dropped "
                    "connection could not be told from the end of the file"
                )
            digest = hashlib.sha256()
            received = 0
            try:
                for chunk in _body(url, response, ends_at, self.timeout):
                    received += len(chunk)
                    digest.update(chunk)
                    yield chunk
            except UpstreamUnavailable as exc:
                if expected_size is None or exc.timed_out:
                    raise
                raise UpstreamUnavailable(f"{url} stopped after {received} of {expected_size} bytes") from exc
            if expected_size is not None and received != expected_size:
                raise UpstreamUnavailable(f"{url} stopped after {received} of {expected_size} bytes")
            if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
                raise UpstreamUnavailable(
                    f"{url} sent {received} bytes whose sha256 {digest.hexdigest()[:12]}... is not the published "
                    f"{expected_sha256[:12]}..."
                )

    def _get(self, url: str, *, read_timeout: float | None = None, **kwargs) -> requests.Response:
        timeout = (self.timeout, self.timeout if read_timeout is None else read_timeout)
        try:
            return self.session.get(url, timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            raise _wrapped(url, exc) from exc


def _envelope(url: str, status: int, body: object) -> dict:
    """`body` checked to be Allen's envelope of a successful query with a list of records in `msg`."""
    if not isinstance(body, dict) or "success" not in body:
        raise UpstreamError(f"{url} answered without Allen's envelope (no 'success')")
    if body["success"] is not True or status != 200:
        raise UpstreamError(f"{url} refused the query (HTTP {status}): {body.get('msg')}")
    rows = body.get("msg")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise UpstreamError(f"{url} answered success without a list of records in 'msg'")
    return body


def _content_length(url: str, response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    if not value.strip().isdigit() or len(value.strip()) > 18:
        raise UpstreamError(f"{url} sent a malformed Content-Length: {value!r}")
    return int(value)


def _body(url: str, response: requests.Response, ends_at: float | None, timeout: float) -> Iterator[bytes]:
    """The body as it arrives (each read returns what is there, so a slow drip still meets the deadline check)."""
    raw = response.raw
    while True:
        if ends_at is not None:
            remaining = ends_at - time.monotonic()
            if remaining <= 0:
                raise DeadlinePassed(f"{url} did not finish sending the file within the deadline")
            _read_timeout_set(response, min(timeout, remaining))
        try:
            chunk = raw.read1(CHUNK)
        except ReadTimeoutError as exc:
            if ends_at is not None and time.monotonic() >= ends_at - 0.05:
                raise DeadlinePassed(f"{url} did not finish sending the file within the deadline") from exc
            raise UpstreamUnavailable(f"{url} did not answer within the timeout", timed_out=True) from exc
        except (Urllib3Error, OSError) as exc:
            raise UpstreamUnavailable(f"{url} failed while sending the file: {type(exc).__name__}") from exc
        if not chunk:
            return
        yield chunk


def _read_timeout_set(response: requests.Response, seconds: float) -> None:
    """Bound the next read by `seconds`, so silence cannot outlast the deadline."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.01))


def _wrapped(url: str, exc: requests.RequestException) -> UpstreamError:
    if isinstance(exc, requests.Timeout):
        return UpstreamUnavailable(f"{url} did not answer within the timeout", timed_out=True)
    if isinstance(exc, requests.ConnectionError):
        return UpstreamUnavailable(f"{url} could not be reached: {type(exc).__name__}")
    return UpstreamUnavailable(f"{url} failed: {exc}")
