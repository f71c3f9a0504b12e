"""One sweep's traces for the cell page's sweep browser.

``/cell/<specimen_id>/ephys/sweep/<n>.json?start=&end=`` (s on the sweep's clock, both optional): the stimulus
and response of sweep ``n`` between ``start`` and ``end``, downsampled on the server to a few thousand points
(every spike landmark kept) or, for a window of at most ``MAX_FULL_RESOLUTION`` samples, every sample; with the
sweep's spikes and features (current clamp) or its test pulse (voltage clamp), and its provenance. 404 JSON when
no samples of the sweep are held, 400 JSON for a bad window.

``POST /cell/<id>/ephys/fetch`` queues the fetch of the cell's NWB file from the upstream (a Celery task);
``/cell/<id>/ephys/fetch/status`` is the progress fragment the tab polls.
"""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from celltypes.atlas import choices
from celltypes.atlas.selectors.ephys import SweepNotHeld, cell_ephys_get, sweep_trace_get
from celltypes.science.ephys.downsample import DEFAULT_POINTS, MAX_POINTS
from celltypes.sync.nwb_fetch import FetchRefused, nwb_fetch_progress_get, nwb_fetch_request
from celltypes.sync.services import upstream_client


def _seconds(request: HttpRequest, name: str) -> float | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds (got {raw[:40]!r})") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds")
    return value


def _points(request: HttpRequest) -> int:
    raw = request.GET.get("points", "").strip()
    if not raw:
        return DEFAULT_POINTS
    if not raw.isdigit() or not 100 <= int(raw) <= MAX_POINTS:
        raise ValueError(f"points must be a whole number from 100 to {MAX_POINTS}")
    return int(raw)


@require_GET
def sweep_trace(request: HttpRequest, specimen_id: int, sweep_number: int) -> JsonResponse:
    try:
        start, end, points = _seconds(request, "start"), _seconds(request, "end"), _points(request)
        if start is not None and end is not None and not start < end:
            raise ValueError("start must come before end")
        payload = sweep_trace_get(
            specimen_id=specimen_id, sweep_number=sweep_number, start=start, end=end, points=points
        )
    except SweepNotHeld as exc:
        return JsonResponse({"error": "not held", "detail": str(exc)}, status=404)
    except ValueError as exc:
        return JsonResponse({"error": "bad request", "detail": str(exc)}, status=400)
    response = JsonResponse(payload)
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- fetching the cell's NWB file from the upstream ---------------------------------------------------------------


def nwb_fetch_state(ephys) -> dict | None:
    """What the ephys tab offers for a cell whose recording is not held: its NWB record, whether an upstream can
    be asked, and how far a fetch got. None when the recording is held or no NWB file is recorded."""
    if ephys.has_recording:
        return None
    wkf = next((f for f in ephys.files if f.well_known_file_type_id == choices.NWB_DOWNLOAD[0]), None)
    if wkf is None:
        return None
    return {
        "file": wkf,
        "progress": nwb_fetch_progress_get(file_id=wkf.id),
        "upstream": upstream_client() is not None,
    }


@require_POST
def nwb_fetch(request: HttpRequest, specimen_id: int) -> HttpResponse:
    """Queue the fetch of the cell's NWB file, then show the tab it was asked from (which polls the progress)."""
    tab = "web:cell_models" if request.POST.get("tab") == "models" else "web:cell_ephys"
    state = nwb_fetch_state(cell_ephys_get(specimen_id=specimen_id))
    if state is None:
        return redirect(tab, specimen_id)
    try:
        nwb_fetch_request(file_id=state["file"].id)
    except FetchRefused as exc:
        return HttpResponse(f"The NWB file cannot be fetched: {exc}", status=409, content_type="text/plain")
    return redirect(tab, specimen_id)


@require_GET
def nwb_fetch_status(request: HttpRequest, specimen_id: int) -> HttpResponse:
    """The progress fragment (htmx polls it); once the file is held, HX-Refresh redraws the page with it."""
    state = nwb_fetch_state(cell_ephys_get(specimen_id=specimen_id))
    response = render(request, "web/_nwb_fetch.html", {"nwb_fetch": state, "specimen_id": specimen_id})
    if state is None or state["progress"].state == "done":
        response["HX-Refresh"] = "true"
    return response
