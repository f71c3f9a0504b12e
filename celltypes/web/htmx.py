"""The htmx request type and the one rule for when a view returns a fragment instead of a page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def is_partial(request: HttpRequest) -> bool:
    """An htmx swap wants the fragment; a history restore (cache miss on back/forward) wants the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def vary_on_htmx(response: HttpResponse, *, partial: bool) -> HttpResponse:
    """Keep browsers from showing a cached fragment as the page when the user goes back to the same URL."""
    patch_vary_headers(response, ("HX-Request",))
    if partial:
        patch_cache_control(response, no_store=True)
    return response
