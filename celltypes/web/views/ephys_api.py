"""One sweep's traces for the cell page's sweep browser.

``/cell/<specimen_id>/ephys/sweep/<n>.json?start=&end=`` (s on the sweep's clock, both optional): the stimulus
and response of sweep ``n`` between ``start`` and ``end``, downsampled on the server to a few thousand points
(every spike landmark kept) or, for a window of at most ``MAX_FULL_RESOLUTION`` samples, every sample; with the
sweep's spikes and features (current clamp) or its test pulse (voltage clamp), and its provenance. 404 JSON when
no samples of the sweep are held, 400 JSON for a bad window.

``POST /cell/<id>/ephys/fetch`` queues the fetch of the cell's NWB file from the upstream (a Celery task);
``/cell/<id>/ephys/fetch/status`` is the progress fragment the tab polls.

``/cell/<id>/ephys/thumbnail.svg`` is the cell's trace thumbnail (Allen's card picture, drawn here by the worker
from the sweeps held here) and ``/cell/<id>/ephys/thumbnail/fragment[?variant=card]`` its htmx fragment.
"""

from __future__ import annotations

import logging
import math

import orjson
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from celltypes.atlas import choices
from celltypes.atlas.selectors.ephys import SweepNotHeld, cell_ephys_get, sweep_analysis_get, sweep_trace_get
from celltypes.atlas.selectors.ephys_thumbnails import ephys_thumbnail_plan, ephys_thumbnail_plan_get
from celltypes.atlas.selectors.morphology import PreviewState
from celltypes.atlas.services.ephys_thumbnails import ephys_thumbnail_request
from celltypes.atlas.vocabulary import EPHYS_THUMBNAIL_SIZE, PREVIEW_CONTENT_TYPES
from celltypes.science.ephys.downsample import DEFAULT_POINTS, MAX_POINTS
from celltypes.sync.nwb_fetch import FetchRefused, nwb_fetch_progress_get, nwb_fetch_request
from celltypes.sync.services import upstream_client

log = logging.getLogger(__name__)


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
    return _json(payload)


def _json(payload: dict) -> HttpResponse:
    """orjson: a first paint's 12,000 numbers are encoded in about a millisecond (json.dumps: ~10 ms)."""
    response = HttpResponse(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), content_type="application/json")
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_GET
def sweep_analysis(request: HttpRequest, specimen_id: int, sweep_number: int) -> JsonResponse:
    """The spikes, spike table and sweep features of a current-clamp sweep: the follow-up of a first paint that
    said ``"analysis": "to follow"`` (a long sweep is drawn before its spikes are found)."""
    try:
        payload = sweep_analysis_get(specimen_id=specimen_id, sweep_number=sweep_number)
    except SweepNotHeld as exc:
        return JsonResponse({"error": "not held", "detail": str(exc)}, status=404)
    except ValueError as exc:
        return JsonResponse({"error": "bad request", "detail": str(exc)}, status=400)
    return _json(payload)


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


# --- the trace thumbnail (search cards, the overview) -------------------------------------------------------------

THUMB_TEMPLATE = "web/_ephys_thumb.html"
THUMB_MAX_ATTEMPTS = 60  # about three and a half minutes of polling


def _thumb(request: HttpRequest, specimen_id: int, state: str, plan=None, *, status: int = 200, **extra):
    attempt = extra.pop("attempt", 0)
    variant = "card" if request.GET.get("variant") == "card" else ""
    fragment_url = reverse("web:cell_ephys_thumbnail_fragment", args=[specimen_id])
    context = {
        "state": state,
        "plan": plan,
        "variant": variant,
        "svg_url": reverse("web:cell_ephys_thumbnail", args=[specimen_id]) + (f"?v={plan.key}" if plan else ""),
        "fragment_url": fragment_url,
        "poll_url": f"{fragment_url}?{'variant=card&' if variant else ''}attempt={attempt + 1}",
        "delay": min(1 + attempt // 10, 5),
        "width": EPHYS_THUMBNAIL_SIZE[0],
        "height": EPHYS_THUMBNAIL_SIZE[1],
        **extra,
    }
    response = render(request, THUMB_TEMPLATE, context, status=status)
    if state == "ready":
        patch_cache_control(response, private=True, max_age=300)
    else:
        patch_cache_control(response, no_store=True)
    return response


@require_GET
def ephys_thumbnail_fragment(request: HttpRequest, specimen_id: int) -> HttpResponse:
    """The htmx fragment of the cell's trace thumbnail: the picture with what it is drawn from, a slot that polls
    while the worker draws it, or "no recording held" (never a drawing that looks like data)."""
    try:
        attempt = max(0, int(request.GET.get("attempt", 0)))
    except ValueError:
        attempt = 0
    try:
        ephys = cell_ephys_get(specimen_id=specimen_id)
        plan = ephys_thumbnail_plan(ephys, specimen_id)
        if plan is None:  # nothing held, or only sweeps a thumbnail does not draw (voltage clamp, other stimuli)
            return _thumb(request, specimen_id, "nothing" if ephys.has_recording else "none")
        status = ephys_thumbnail_request(plan=plan)
        if status.state is PreviewState.READY:
            return _thumb(request, specimen_id, "ready", plan)
        if status.state is PreviewState.FAILED:
            return _thumb(request, specimen_id, "error", plan, error=status.error)
        if attempt >= THUMB_MAX_ATTEMPTS:
            return _thumb(request, specimen_id, "timeout", plan)
        return _thumb(request, specimen_id, "pending", plan, status=202, attempt=attempt)
    except Exception:  # a fragment in a page must not break the page
        log.exception("trace thumbnail fragment of specimen %s failed", specimen_id)
        return _thumb(request, specimen_id, "unavailable")


@require_GET
def ephys_thumbnail(request: HttpRequest, specimen_id: int) -> HttpResponse:
    """The thumbnail's SVG; 404 when there is nothing held to draw it from, 202 while it is being drawn."""
    plan = ephys_thumbnail_plan_get(specimen_id=specimen_id)
    if plan is None:
        return HttpResponse("No recording of this cell is held here.", status=404, content_type="text/plain")
    status = ephys_thumbnail_request(plan=plan)
    if status.state is not PreviewState.READY:
        code = 422 if status.state is PreviewState.FAILED else 202
        return HttpResponse(status.error or "Being drawn; ask again shortly.", status=code, content_type="text/plain")
    response = FileResponse(status.path.open("rb"), content_type=PREVIEW_CONTENT_TYPES["svg"])
    response["Content-Disposition"] = f'inline; filename="{specimen_id}_ephys_thumbnail.svg"'
    patch_cache_control(response, public=True, max_age=3600)
    return response
