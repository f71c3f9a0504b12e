"""A per-process cache of whole REST API answers, keyed on the atlas version and everything the answer depends on.

An answer of `/api/v1/` depends on the atlas (whose version goes up with every load and sync, so a cached answer
is never stale), the path, the query parameters (read as the views read them: by name, values in order), the
`Accept` header (JSON or CSV), and the scheme and host (the links are absolute). A hit replays the status, headers
and body of the first answer byte for byte and skips DRF; it still counts towards the public rate limit, and a
client over the limit is passed on to the view, which answers 429 as it always does.

Only 200 answers of GET requests to the endpoints whose viewset says ``response_cacheable`` are kept; `files/`
says whether the store holds each file now, which no atlas version records, so it is never cached. Bounded by
total bytes, least recently used answers first out (celltypes/bounded_cache.py).
`CELLTYPES_API_RESPONSE_CACHE=false` turns it off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from celltypes.atlas.services.versions import atlas_version_get
from celltypes.bounded_cache import BoundedCache

MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class CachedAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status)
        for name, value in self.headers:
            response[name] = value
        return response


answers: BoundedCache[CachedAnswer] = BoundedCache(MAX_BYTES, MAX_ENTRY_BYTES, size_of=lambda answer: len(answer.body))


def clear() -> None:
    answers.clear()


def _cacheable_prefixes() -> tuple[str, ...]:
    """`/api/v1/<prefix>/` of every registered viewset that says ``response_cacheable``."""
    from celltypes.api.urls import router

    return tuple(f"/api/v1/{prefix}/" for prefix, viewset, _ in router.registry if viewset.response_cacheable)


def answer_key(request: HttpRequest, version: int) -> tuple:
    query = tuple((name, tuple(values)) for name, values in sorted(request.GET.lists()))
    return (version, request.scheme, request.get_host(), request.path, query, request.headers.get("Accept", ""))


class ApiResponseCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefixes: tuple[str, ...] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET" or not settings.CELLTYPES_API_RESPONSE_CACHE or not self._cacheable(request):
            return self.get_response(request)
        key = answer_key(request, atlas_version_get())
        cached = answers.get(key)
        if cached is not None and _within_rate(request):
            return cached.response()
        response = self.get_response(request)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            answers.put(key, CachedAnswer(200, tuple(response.items()), response.content))
        return response

    def _cacheable(self, request: HttpRequest) -> bool:
        if not request.path_info.startswith("/api/v1/"):
            return False
        if self.prefixes is None:
            self.prefixes = _cacheable_prefixes()
        return request.path_info.startswith(self.prefixes)


def _within_rate(request: HttpRequest) -> bool:
    """Count a cached answer towards the public rate limit as the view would; False when over it."""
    from celltypes.api.throttling import PublicRateThrottle

    return PublicRateThrottle().allow_request(request, None)
