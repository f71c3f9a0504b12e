"""The public rate limit of the REST API, read from settings at request time (so tests and benchmarks can set it)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle


class PublicRateThrottle(AnonRateThrottle):
    """Per client address, `CELLTYPES_API_ANON_RATE` (e.g. ``"120/minute"``); empty means unthrottled."""

    scope = "anon"

    def get_rate(self) -> str | None:
        return settings.CELLTYPES_API_ANON_RATE or None

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
