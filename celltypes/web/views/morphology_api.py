"""Morphology pictures and data for the cell page and for scripts.

``/cell/<specimen_id>/morphology/...`` draws the cell's reconstruction whose SWC the file store holds: the
current one when held, else the newest held (older, superseded) one.

- ``preview/<plane>.<svg|png>`` (plane ``xy`` or ``yz``): the rendered projection. When it is not rendered
  yet, the render is queued (once: an in-flight marker dedupes) and the response is the polling placeholder
  fragment below, with status 202; an unreadable SWC answers 422 with the error fragment.
- ``preview/<plane>/fragment``: an HTML fragment for htmx, always one ``<figure class="morphology-preview">``:
  ``data-state="ready"`` holds ``<img src=".../preview/<plane>.png">`` (linked to the SVG);
  ``data-state="pending"`` (HTTP 202) carries ``hx-get`` to itself with ``hx-trigger="load delay:Ns"``
  and ``hx-swap="outerHTML"``, so it polls (1 s, slowing to 5 s, ``?attempt=N``) until the image is
  there, and after ``MAX_ATTEMPTS`` shows a "try again" button instead; ``data-state="error"`` says the
  reconstruction could not be read (with the reader's message naming the line); ``data-state="missing"``
  (HTTP 404) says no SWC is held. Never a 500: an unexpected failure is logged and shown as unavailable.
  ``?variant=card`` answers the search card's thumbnail instead (morphology/preview_card.html): the ``<img>``
  when ready, an empty slot that polls (same delays) while pending, and an empty hidden slot otherwise, so the
  card's own drawn placeholder stays.
- ``plot.json``: the plotly figure (``morphology_plot_payload`` with the markers) plus a ``reconstruction``
  key (id, specimen_id, superseded, swc_file_id). ETag is the SWC's sha256 (and the marker file's), so a
  browser revalidates with If-None-Match and gets 304. 404 JSON when no SWC is held, 422 JSON when the SWC
  is malformed: ``{"error": ..., "detail": ..., "where": "line N"}``.

``/swc_projection/<SWC file id>/<plane>.<png|svg>`` is our own drawing of a reconstruction file (plane ``xy`` or
``yz``), by the SWC's WellKnownFile id (the id of ``/api/v2/well_known_file_download/<id>``), for scripts: it is
rendered in the request when missing (scripts want bytes, not a placeholder). 404 for an id that is not a held
SWC, 422 for a malformed SWC. It is not one of Allen's images, so it has a URL of its own: Allen's image ids are
served at ``/api/v2/section_image_download/<id>`` (celltypes/rma/image_views.py), which redirects the old form
``section_image_download/<SWC file id>?view=<plane>`` here.
"""

from __future__ import annotations

import json
import logging

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_GET

from celltypes.atlas.models import NeuronReconstruction
from celltypes.atlas.selectors.morphology import (
    PreviewState,
    PreviewStatus,
    cell_reconstruction_with_swc,
    computed_morphology_error,
    morphology_plot_etag,
    morphology_plot_get,
    swc_file_get,
)
from celltypes.atlas.services.morphology import morphology_preview_ensure, morphology_preview_request
from celltypes.atlas.vocabulary import DRAWN_PROJECTION_LABEL, PREVIEW_CONTENT_TYPES, PREVIEW_SIZE
from celltypes.science.errors import InvalidFileError

log = logging.getLogger(__name__)

FRAGMENT_TEMPLATE = "morphology/preview_fragment.html"
# ?variant=card: the search card's thumbnail, an <img> laid over the card's drawn placeholder (which stays put
# while the preview is pending, or for good when there is none), so a card never shows a broken image.
FRAGMENT_TEMPLATES = {"": FRAGMENT_TEMPLATE, "card": "morphology/preview_card.html"}
MAX_ATTEMPTS = 60  # about three and a half minutes of polling


def _poll_delay(attempt: int) -> int:
    """Seconds before the next poll: 1 s at first, slowing to 5 s."""
    return min(1 + attempt // 10, 5)


def _fragment(
    request: HttpRequest,
    specimen_id: int,
    plane: str,
    state: str,
    *,
    status: int = 200,
    reconstruction: NeuronReconstruction | None = None,
    error: str | None = None,
    attempt: int = 0,
    variant: str = "",
) -> HttpResponse:
    fragment_url = reverse("morphology:preview_fragment", args=[specimen_id, plane])
    context = {
        "state": state,
        "plane": plane,
        "plane_label": plane.upper(),
        "size": PREVIEW_SIZE,
        "specimen_id": specimen_id,
        "reconstruction": reconstruction,
        "error": error,
        "png_url": reverse("morphology:preview_image", args=[specimen_id, plane, "png"]),
        "svg_url": reverse("morphology:preview_image", args=[specimen_id, plane, "svg"]),
        "fragment_url": fragment_url,
        "poll_url": f"{fragment_url}?{'variant=card&' if variant else ''}attempt={attempt + 1}",
        "next_attempt": attempt + 1,
        "delay": _poll_delay(attempt),
        "drawn_label": DRAWN_PROJECTION_LABEL,
    }
    response = render(request, FRAGMENT_TEMPLATES[variant], context, status=status)
    if state == "ready":
        patch_cache_control(response, max_age=300)
    else:
        patch_cache_control(response, no_store=True)
    return response


def _attempt(request: HttpRequest) -> int:
    try:
        return max(0, int(request.GET.get("attempt", 0)))
    except ValueError:
        return 0


def _preview(specimen_id: int, plane: str, fmt: str) -> tuple[NeuronReconstruction | None, PreviewStatus | None]:
    """(reconstruction, status) of the cell's preview; (None, None) when no SWC is held."""
    found = cell_reconstruction_with_swc(specimen_id=specimen_id)
    if found is None:
        return None, None
    reconstruction, swc = found
    error = computed_morphology_error(reconstruction, swc)
    if error:
        return reconstruction, PreviewStatus(PreviewState.FAILED, error=error)
    return reconstruction, morphology_preview_request(swc_file_id=swc.pk, plane=plane, fmt=fmt)


@require_GET
def preview_fragment(request: HttpRequest, specimen_id: int, plane: str) -> HttpResponse:
    """The htmx fragment: the ``<img>`` when rendered, else a placeholder that polls, or the read error.

    ``?variant=card`` answers the search card's form of each state (see FRAGMENT_TEMPLATES).
    """
    attempt = _attempt(request)
    variant = "card" if request.GET.get("variant") == "card" else ""
    try:
        reconstruction, status = _preview(specimen_id, plane, "png")
        if status is None:
            return _fragment(request, specimen_id, plane, "missing", status=404, variant=variant)
        if status.state is PreviewState.READY:
            return _fragment(request, specimen_id, plane, "ready", reconstruction=reconstruction, variant=variant)
        if status.state is PreviewState.FAILED:
            return _fragment(
                request, specimen_id, plane, "error", reconstruction=reconstruction, error=status.error, variant=variant
            )
        if attempt >= MAX_ATTEMPTS:
            return _fragment(request, specimen_id, plane, "timeout", reconstruction=reconstruction, variant=variant)
        return _fragment(
            request,
            specimen_id,
            plane,
            "pending",
            status=202,
            reconstruction=reconstruction,
            attempt=attempt,
            variant=variant,
        )
    except Exception:  # a fragment in a page must not break the page
        log.exception("morphology preview fragment of specimen %s (%s) failed", specimen_id, plane)
        return _fragment(request, specimen_id, plane, "unavailable", variant=variant)


def _image_response(request: HttpRequest, status: PreviewStatus, fmt: str, filename: str) -> HttpResponse:
    stat = status.path.stat()
    etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    response = FileResponse(status.path.open("rb"), content_type=PREVIEW_CONTENT_TYPES[fmt])
    response["ETag"] = etag
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    patch_cache_control(response, public=True, max_age=3600)
    return response


@require_GET
def preview_image(request: HttpRequest, specimen_id: int, plane: str, fmt: str) -> HttpResponse:
    """The projection image; the polling placeholder (202) while it is being rendered."""
    reconstruction, status = _preview(specimen_id, plane, fmt)
    if status is None:
        return _fragment(request, specimen_id, plane, "missing", status=404)
    if status.state is PreviewState.READY:
        return _image_response(request, status, fmt, f"{specimen_id}_{reconstruction.pk}_{plane}.{fmt}")
    if status.state is PreviewState.FAILED:
        return _fragment(
            request, specimen_id, plane, "error", status=422, reconstruction=reconstruction, error=status.error
        )
    return _fragment(request, specimen_id, plane, "pending", status=202, reconstruction=reconstruction)


def _json(payload: dict, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(payload, separators=(",", ":"), allow_nan=False), status=status, content_type="application/json"
    )


@require_GET
def plot_json(request: HttpRequest, specimen_id: int) -> HttpResponse:
    """The plotly figure of the cell's held reconstruction (ETag: the SWC's sha256)."""
    found = cell_reconstruction_with_swc(specimen_id=specimen_id)
    if found is None:
        return JsonResponse(
            {"error": f"No reconstruction file of specimen {specimen_id} is held here.", "specimen_id": specimen_id},
            status=404,
        )
    reconstruction, swc = found
    etag = f'"{morphology_plot_etag(reconstruction, swc)}"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    try:
        response = _json(morphology_plot_get(reconstruction, swc))
    except InvalidFileError as exc:
        response = JsonResponse(
            {
                "error": f"The reconstruction could not be read: {exc.message}",
                "detail": str(exc),
                "where": exc.where,
                "reconstruction_id": reconstruction.pk,
            },
            status=422,
        )
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=300)
    return response


def _bad_request(message: str, status: int = 400) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


@require_GET
def swc_projection(request: HttpRequest, swc_file_id: int, plane: str, fmt: str) -> HttpResponse:
    """Our drawing of SWC file ``swc_file_id`` in ``plane`` (see the module docstring)."""
    swc = swc_file_get(file_id=swc_file_id)
    if swc is None:
        raise Http404(f"{swc_file_id} is not the id of a reconstruction (SWC) file held here")
    status = morphology_preview_ensure(swc_file_id=swc.pk, plane=plane, fmt=fmt)
    if status.state is PreviewState.FAILED:
        return _bad_request(f"The reconstruction could not be read: {status.error}", status=422)
    if status.state is not PreviewState.READY:
        response = _bad_request("The image is being rendered; try again in a few seconds.", status=503)
        response["Retry-After"] = "5"
        return response
    return _image_response(request, status, fmt, f"{swc_file_id}_{plane}.{fmt}")
