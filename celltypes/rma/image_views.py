"""Allen's image download services: ``/api/v2/section_image_download/<id>``, ``/api/v2/image_download/<id>`` and
``/api/v2/projection_image_download/<id>``.

``<id>`` is the id of one of Allen's images this copy lists (a SubImage of a cell's stack, or a ProjectionImage).
The pixels are fetched through from the upstream on first request with Allen's parameters (see
celltypes/sync/image_fetch.py) and served from the cache after that. Errors answer Allen's envelope: 400 for a
parameter Allen's service refuses, 404 for an id that is no image listed here (or an image not held when no
upstream is configured), 502 when the upstream fails, 504 when it is too slow, 503 while another request fetches
the same image.

Our own drawings of an SWC have their own URL (``/swc_projection/<SWC file id>/<plane>.<fmt>``); the old form
``section_image_download/<SWC file id>?view=<plane>`` is redirected there (308) when the id is no image id.
"""

from __future__ import annotations

import math
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe

from celltypes.atlas import filestore
from celltypes.atlas.selectors.images import image_get
from celltypes.atlas.selectors.morphology import swc_file_get
from celltypes.atlas.vocabulary import NO_UPSTREAM, PREVIEW_FORMATS, PREVIEW_PLANES
from celltypes.rma.renderers import json as json_renderer
from celltypes.sync.client import UpstreamError
from celltypes.sync.image_fetch import (
    ImageParameterError,
    held_image,
    image_content_type,
    image_fetch,
    image_request_parse,
)
from celltypes.sync.services import upstream_client


def _error(message: str, status: int) -> HttpResponse:
    return HttpResponse(json_renderer.error(message), status=status, content_type="application/json")


@require_safe
def section_image_download(request: HttpRequest, image_id: int) -> HttpResponse:
    """Allen's SectionImage download service (also the old URL of our SWC drawings: redirected)."""
    if image_get(image_id=image_id) is None and "view" in request.GET:
        swc = swc_file_get(file_id=image_id)
        if swc is not None:
            return _swc_projection_redirect(request, swc.pk)
    return _image_download(request, "section_image_download", image_id)


@require_safe
def image_download(request: HttpRequest, image_id: int) -> HttpResponse:
    """Allen's image download service for any SubImage."""
    return _image_download(request, "image_download", image_id)


@require_safe
def projection_image_download(request: HttpRequest, image_id: int) -> HttpResponse:
    """Allen's projection image download service (the AllenSDK's ImageDownloadApi.download_projection_image)."""
    return _image_download(request, "projection_image_download", image_id)


def _swc_projection_redirect(request: HttpRequest, swc_file_id: int) -> HttpResponse:
    plane = request.GET.get("view", "").lower()
    fmt = (request.GET.get("format") or "png").lower()
    if plane not in PREVIEW_PLANES or fmt not in PREVIEW_FORMATS:
        return _error(
            f"{swc_file_id} is a reconstruction (SWC) file, drawn at /swc_projection/{swc_file_id}/<plane>.<format>: "
            f"view must be one of {', '.join(PREVIEW_PLANES)} and format one of {', '.join(PREVIEW_FORMATS)}",
            400,
        )
    response = HttpResponsePermanentRedirect(reverse("morphology:swc_projection", args=[swc_file_id, plane, fmt]))
    response.status_code = 308
    return response


def _image_download(request: HttpRequest, service: str, image_id: int) -> HttpResponse:
    image = image_get(image_id=image_id)
    if image is None:
        return _error(f"no image with id {image_id} is listed here", 404)
    try:
        wanted = image_request_parse(service, image_id, request.GET)
    except ImageParameterError as exc:
        return _error(str(exc), 400)
    path = held_image(wanted)
    if path is None:
        client = upstream_client()
        label = f"image {image_id} is not held by this server and"
        if client is None:
            return _error(f"{label} {NO_UPSTREAM}", 404)
        deadline = settings.CELLTYPES_FETCH_DEADLINE
        try:
            path = image_fetch(wanted, client, deadline=deadline, lock_wait=settings.CELLTYPES_FETCH_LOCK_WAIT)
        except filestore.LockTimeout:
            response = _error(f"{label} another request is fetching it: try again shortly", 503)
            response["Retry-After"] = str(max(1, math.ceil(deadline)))
            return response
        except UpstreamError as exc:
            return _error(f"{label} fetching it failed: {exc}", 504 if exc.timed_out else 502)
    return _image_response(request, path, image_id)


def _image_response(request: HttpRequest, path: Path, image_id: int) -> HttpResponse:
    fh, _, sha256 = filestore.open_with_sha256(path)
    etag = f'"{sha256}"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        fh.close()
        return not_modified
    content_type = image_content_type(path)
    response = FileResponse(fh, content_type=content_type)
    response["ETag"] = etag
    extension = "png" if content_type == "image/png" else "jpg"
    response["Content-Disposition"] = f'inline; filename="{image_id}.{extension}"'
    patch_cache_control(response, public=True, max_age=86400)
    return response
