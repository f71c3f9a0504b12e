"""The upstream Allen API over HTTP: RMA queries and well-known file downloads, with timeouts and clear errors.

Plain Python (no Django): it returns Allen's records as dicts and file bodies as chunks of bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import requests

CHUNK = 1 << 20


class UpstreamError(Exception):
    """The upstream could not answer: unreachable, too slow, an HTTP error, or a body that is not Allen's."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass
class UpstreamClient:
    base_url: str
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    def rma_query(self, q: str) -> list[dict]:
        """The `msg` rows of `query.json?q=<q>`; UpstreamError unless Allen's envelope says success."""
        url = f"{self.base_url}/api/v2/data/query.json"
        response = self._get(url, params={"q": q})
        try:
            body = response.json()
        except ValueError:
            raise UpstreamError(f"{url} answered HTTP {response.status_code} with a body that is not JSON") from None
        if not isinstance(body, dict) or "success" not in body:
            raise UpstreamError(f"{url} answered without Allen's envelope (no 'success')")
        if body["success"] is not True or response.status_code != 200:
            raise UpstreamError(f"{url} refused the query (HTTP {response.status_code}): {body.get('msg')}")
        rows = body.get("msg")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise UpstreamError(f"{url} answered success without a list of records in 'msg'")
        return rows

    def file_chunks(self, file_id: int) -> Iterator[bytes]:
        """The body of well-known file `file_id`, streamed; UpstreamError if it stops short of Content-Length."""
        url = f"{self.base_url}/api/v2/well_known_file_download/{file_id}"
        response = self._get(url, stream=True)
        with response:
            if response.status_code != 200:
                raise UpstreamError(f"{url} answered HTTP {response.status_code}")
            expected = response.headers.get("Content-Length")
            received = 0
            try:
                for chunk in response.iter_content(CHUNK):
                    received += len(chunk)
                    yield chunk
            except requests.RequestException as exc:
                raise _wrapped(url, exc) from exc
            if expected is not None and expected.isdigit() and received != int(expected):
                raise UpstreamError(f"{url} stopped after {received} of {expected} bytes")

    def _get(self, url: str, **kwargs) -> requests.Response:
        try:
            return self.session.get(url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise _wrapped(url, exc) from exc


def _wrapped(url: str, exc: requests.RequestException) -> UpstreamError:
    if isinstance(exc, requests.Timeout):
        return UpstreamError(f"{url} did not answer within the timeout", timed_out=True)
    if isinstance(exc, requests.ConnectionError):
        return UpstreamError(f"{url} could not be reached: {type(exc).__name__}")
    return UpstreamError(f"{url} failed: {exc}")
