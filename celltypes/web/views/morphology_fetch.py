"""Fetching the SWC the morphology tab would draw when the store lacks it (celltypes.sync.file_fetch).

``/cell/<id>/morphology/fetch/status?attempt=N`` is what the tab's placeholder polls with htmx: it queues the
fetch once (the first poll), then answers the whole morphology tab as it stands, so the placeholder comes back
while the file is on its way and the 3D view, features and projections replace it once the file is held.
``POST /cell/<id>/morphology/fetch`` asks again after a failure (or without JavaScript) and shows the tab.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from celltypes.atlas.selectors.cells import cell_get
from celltypes.atlas.vocabulary import NO_UPSTREAM
from celltypes.web.presenters.morphology import MAX_FETCH_POLLS
from celltypes.web.views.cells import morphology_context


def _cell(specimen_id: int):
    cell = cell_get(specimen_id=specimen_id)
    if cell is None:
        raise Http404(f"No cell with specimen id {specimen_id}.")
    return cell


def _attempt(request: HttpRequest) -> int:
    raw = request.GET.get("attempt", "")
    return min(int(raw), MAX_FETCH_POLLS) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0


@require_GET
def swc_fetch_status(request: HttpRequest, specimen_id: int) -> HttpResponse:
    cell = _cell(specimen_id)
    context = {"cell": cell, **morphology_context(cell, fetch=True, attempt=_attempt(request))}
    return render(request, "web/_cell_morphology.html", context)


@require_POST
def swc_fetch(request: HttpRequest, specimen_id: int) -> HttpResponse:
    cell = _cell(specimen_id)
    swc_fetch = morphology_context(cell, fetch=True, again=True)["swc_fetch"]
    if swc_fetch is not None and swc_fetch.state == "offline":
        return HttpResponse(
            f"The SWC file cannot be fetched: {NO_UPSTREAM}.",
            status=409,
            content_type="text/plain",
        )
    return redirect("web:cell_morphology", specimen_id)
