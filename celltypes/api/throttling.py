"""The public rate limit of the REST API, read from settings at request time (so tests and benchmarks can set it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class PublicRateThrottle(AnonRateThrottle):
    """Per client address, `CELLTYPES_API_ANON_RATE` (e.g. ``"120/minute"``); empty means unthrottled.

    The API has no logins (every client is anonymous to it), so the key is the address alone; that also lets the
    response cache (celltypes.api.response_cache) count a cached answer with a plain Django request."""

    scope = "anon"

    def get_rate(self) -> str | None:
        return settings.CELLTYPES_API_ANON_RATE or None

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Any, view: Any) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
