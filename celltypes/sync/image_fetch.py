"""Allen's images (SubImage, ProjectionImage) fetched through from the upstream's image download services.

The pixels are not part of the mirror: the first request for an image, with a given set of Allen's image
parameters (``downsample``, ``quality``, the ``top``/``left``/``width``/``height`` region, ``view``, and the
others Allen's services document: INTEGER_PARAMETERS, BOOLEAN_PARAMETERS, LIST_PARAMETERS), fetches it from
``CELLTYPES_UPSTREAM`` once (one fetch at a time per image and parameter set, within a deadline,
temp-then-rename, checked to be a JPEG or PNG); later requests are answered from the copy under
``derived/images/<image id>/``. At most ``CELLTYPES_IMAGE_VARIANTS_MAX`` parameter sets are kept per image (the
least recently served go first), and one image may not exceed ``CELLTYPES_IMAGE_MAX_BYTES``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from celltypes.atlas import filestore
from celltypes.sync.client import UpstreamClient, UpstreamError

log = logging.getLogger(__name__)

# Allen's image download services: SectionImage, any SubImage, and the projection service.
SERVICES = ("section_image_download", "image_download", "projection_image_download")
VIEWS = ("expression", "projection", "tumor_feature_annotation", "tumor_feature_boundary")
# Allen's parameters, as its image download services document them (all optional): integers with the
# (smallest, largest) value taken; true/false switches; comma lists of numbers with their (fewest, most) items.
INTEGER_PARAMETERS = {
    "downsample": (0, 16),
    "quality": (0, 100),
    "top": (0, 1_000_000),
    "left": (0, 1_000_000),
    "width": (1, 1_000_000),
    "height": (1, 1_000_000),
    "atlas": (0, 10**15),
}
BOOLEAN_PARAMETERS = (
    "expression",
    "annotation",
    "projection",
    "downsample_dimensions",
    "tumor_feature_annotation",
    "tumor_feature_boundary",
)
LIST_PARAMETERS = {"range": (6, 6), "rgb": (1, 8), "contrast": (1, 8), "colormap": (1, 8)}
_NUMBER = re.compile(r"^-?\d{1,9}(\.\d{1,9})?$")
IMAGE_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


class ImageParameterError(ValueError):
    """A parameter of the request is not one Allen's image service takes (the message names it)."""


@dataclass(frozen=True)
class ImageRequest:
    """One image, from one of Allen's services, with the parameters that change its pixels (canonical order)."""

    service: str
    image_id: int
    params: tuple[tuple[str, str], ...]

    @property
    def upstream_path(self) -> str:
        return f"/api/v2/{self.service}/{self.image_id}"

    @property
    def key(self) -> str:
        """Names the cached copy: the service and the parameters, hashed (a file name, whatever was asked)."""
        text = self.service + "?" + "&".join(f"{k}={v}" for k, v in self.params)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def image_request_parse(service: str, image_id: int, query: dict[str, str]) -> ImageRequest:
    """The ImageRequest for Allen's query parameters; ImageParameterError for a value Allen's service refuses.

    Parameters Allen's services do not document are left out (not passed on, not part of the cache key).
    """
    params: dict[str, str] = {}
    for name, (smallest, largest) in INTEGER_PARAMETERS.items():
        value = (query.get(name) or "").strip()
        if not value:
            continue
        if not value.isdigit() or len(value) > 16 or not smallest <= int(value) <= largest:
            raise ImageParameterError(f"{name} must be a whole number from {smallest} to {largest}, not {value!r}")
        params[name] = str(int(value))
    for name in BOOLEAN_PARAMETERS:
        value = (query.get(name) or "").strip().lower()
        if not value:
            continue
        if value not in ("true", "false"):
            raise ImageParameterError(f"{name} must be true or false, not {value!r}")
        params[name] = value
    for name, (fewest, most) in LIST_PARAMETERS.items():
        value = (query.get(name) or "").strip()
        if not value:
            continue
        items = value.split(",")
        if not fewest <= len(items) <= most or not all(_NUMBER.match(item) for item in items):
            count = f"{fewest}" if fewest == most else f"{fewest} to {most}"
            raise ImageParameterError(f"{name} must be {count} comma-separated numbers, not {value!r}")
        params[name] = value
    view = (query.get("view") or "").strip().lower()
    if view:
        if view not in VIEWS:
            raise ImageParameterError(f"view must be one of {', '.join(VIEWS)}, not {view!r}")
        params["view"] = view
    return ImageRequest(service, image_id, tuple(sorted(params.items())))


def image_folder(image_id: int) -> Path:
    return filestore.derived_path("images", str(image_id))


def held_image(request: ImageRequest) -> Path | None:
    """The held copy of the image for this request, marked as just served (eviction goes by that), else None."""
    path = image_folder(request.image_id) / request.key
    try:
        os.utime(path)
    except FileNotFoundError:
        return None
    return path


def image_content_type(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
    return next((kind for signature, kind in IMAGE_SIGNATURES.items() if head.startswith(signature)), "image/jpeg")


def image_fetch(request: ImageRequest, client: UpstreamClient, *, deadline: float, lock_wait: float) -> Path:
    """Fetch the image for `request` from the upstream into the cache once, and return its path.

    filestore.LockTimeout when another fetch of the same image and parameters holds on past `lock_wait`;
    UpstreamError (DeadlinePassed past `deadline`) when the upstream cannot give it.
    """
    target = image_folder(request.image_id) / request.key
    lock_name = f"image_{request.image_id}_{request.key}.lock"
    with filestore.named_lock(lock_name, timeout=lock_wait, what=f"image {request.image_id}"):
        if target.is_file():  # fetched by another request while this one waited
            return target
        chunks = client.download_chunks(request.upstream_path, params=dict(request.params), deadline=deadline)
        filestore.write_atomic(target, _bounded(chunks, request), check=_image_check)
    log.info("fetched image %s (%s) from %s", request.image_id, request.params, client.base_url)
    _evict(image_folder(request.image_id), keep=target)
    return target


def _bounded(chunks: Iterable[bytes], request: ImageRequest) -> Iterator[bytes]:
    limit = settings.CELLTYPES_IMAGE_MAX_BYTES
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise UpstreamError(
                f"image {request.image_id} is larger than {limit:,} bytes (CELLTYPES_IMAGE_MAX_BYTES); "
                "ask for it downsampled or for a region"
            )
        yield chunk


def _image_check(path: Path) -> None:
    with path.open("rb") as fh:
        head = fh.read(8)
    if not any(head.startswith(signature) for signature in IMAGE_SIGNATURES):
        raise UpstreamError("the upstream answered with something that is not a JPEG or PNG image")


def _evict(folder: Path, *, keep: Path) -> None:
    """Keep at most CELLTYPES_IMAGE_VARIANTS_MAX copies of one image: the least recently served go."""
    copies = []
    for path in folder.iterdir():
        if path.name.startswith("."):  # a write in progress
            continue
        try:
            copies.append((path.stat().st_mtime, path))
        except FileNotFoundError:
            continue
    copies.sort(reverse=True)
    for _, path in copies[settings.CELLTYPES_IMAGE_VARIANTS_MAX :]:
        if path != keep:
            path.unlink(missing_ok=True)
