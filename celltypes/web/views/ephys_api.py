"""One sweep's traces for the cell page's sweep browser.

``/cell/<specimen_id>/ephys/sweep/<n>.json?start=&end=`` (s on the sweep's clock, both optional): the stimulus
and response of sweep ``n`` between ``start`` and ``end``, downsampled on the server to a few thousand points
(every spike landmark kept) or, for a window of at most ``MAX_FULL_RESOLUTION`` samples, every sample; with the
sweep's spikes and features (current clamp) or its test pulse (voltage clamp), and its provenance. 404 JSON when
no samples of the sweep are held, 400 JSON for a bad window.
"""

from __future__ import annotations

import math

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from celltypes.atlas.selectors.ephys import SweepNotHeld, sweep_trace_get
from celltypes.science.ephys.downsample import DEFAULT_POINTS, MAX_POINTS


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
