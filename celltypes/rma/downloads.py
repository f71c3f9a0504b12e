"""Serving well-known files: where the bytes come from (file store, fetch-through, converted NWB), and the HTTP
answer for a file (one byte range, If-Range, an ETag that is the sha256 of the bytes served)."""

import base64
import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import WellKnownFile
from celltypes.atlas.vocabulary import NO_UPSTREAM
from celltypes.science.errors import ScienceError
from celltypes.sync.client import DeadlinePassed, UpstreamError
from celltypes.sync.services import (
    FetchInProgress,
    upstream_client,
    well_known_file_fetch,
    well_known_file_fetch_queue,
)

log = logging.getLogger(__name__)
_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
POSITION_MAX_DIGITS = 18  # a byte position beyond 10^18 - 1 is past the end of any file held here


class FileUnavailable(Exception):
    """The file is known but we hold no good copy and cannot get one now; `status` is the HTTP status to answer,
    `retry_after` (seconds) when asking again later should work."""

    def __init__(self, message: str, status: int = 404, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def well_known_file_source(wkf: WellKnownFile) -> tuple[Path, str]:
    """(local path, download file name) for a well-known file.

    A held copy is used only while it matches the size and sha256 recorded for it; otherwise the file is fetched
    (again) from the upstream. NWB downloads are served in Allen's released NWB 1 layout (what the AllenSDK's
    NwbDataSet reads); a source in another layout (raw MIES NWB 1, NWB 2) is converted once and cached under
    derived/nwb1/.
    """
    held = filestore.held_well_known_file(wkf.id, size=wkf.size, sha256=wkf.sha256)
    if held is None:
        held = _fetch_from_upstream(wkf)
        wkf.size, wkf.sha256 = held.size, held.sha256  # the NWB 1 conversion below is cached under this digest
    if wkf.well_known_file_type_id == choices.NWB_DOWNLOAD[0]:
        return _allen_nwb1(wkf, held.path), wkf.file_name
    return held.path, wkf.file_name


def _fetch_from_upstream(wkf: WellKnownFile) -> filestore.StoredFile:
    """Fetch-through: a file we know of but do not hold (in good order) is fetched from the upstream once, then
    served from here. The request waits at most CELLTYPES_FETCH_DEADLINE; a longer fetch goes on in the worker."""
    label = f"well-known file {wkf.id} ({wkf.file_name})"
    if filestore.well_known_file_path(wkf.id).is_file():
        log.warning("%s: the held copy does not match its recorded size and sha256; not serving it", label)
        label += " is held here only as a copy that does not match its recorded size and sha256, so it"
    else:
        label += " is not held by this server and"
    client = upstream_client()
    if client is None:
        raise FileUnavailable(f"{label} {NO_UPSTREAM}")
    deadline = settings.CELLTYPES_FETCH_DEADLINE
    try:
        return well_known_file_fetch(
            file_id=wkf.id, client=client, deadline=deadline, lock_wait=settings.CELLTYPES_FETCH_LOCK_WAIT
        )
    except FetchInProgress as exc:
        raise FileUnavailable(f"{label} {exc}: try again shortly", status=503, retry_after=_seconds(deadline)) from exc
    except DeadlinePassed as exc:
        if well_known_file_fetch_queue(file_id=wkf.id):
            raise FileUnavailable(
                f"{label} fetching it took longer than {deadline:g} s, so the worker carries on: try again later",
                status=503,
                retry_after=_seconds(deadline),
            ) from exc
        raise FileUnavailable(f"{label} fetching it failed: {exc}", status=504) from exc
    except UpstreamError as exc:
        raise FileUnavailable(f"{label} fetching it failed: {exc}", status=504 if exc.timed_out else 502) from exc


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def file_response(request: HttpRequest, path: Path, name: str) -> HttpResponse:
    """The file as an attachment: 200, or 206 for one satisfiable `Range` (honoured only when `If-Range`, if sent,
    names the current ETag), 416 for one that is not, 304/412 for conditional requests. The ETag and Repr-Digest
    are the sha256 of the bytes served."""
    fh, size, sha256 = filestore.open_with_sha256(path)
    etag = f'"{sha256}"'
    headers = {
        "ETag": etag,
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:",
        "Accept-Ranges": "bytes",
    }
    conditional = get_conditional_response(request, etag=etag)
    if conditional is not None:
        fh.close()
        return _with_headers(conditional, headers)
    if_range = request.headers.get("If-Range")
    byte_range = _requested_range(request.headers.get("Range", ""), size) if if_range in (None, etag) else None
    if byte_range == "unsatisfiable":
        fh.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _with_headers(response, headers)
    if byte_range is None:
        response = FileResponse(fh, content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    else:
        start, end = byte_range
        length = end - start + 1
        if length <= filestore.CHUNK:  # a small range in one piece; a big one streams
            with fh:
                fh.seek(start)
                response = HttpResponse(fh.read(length), status=206, content_type="application/octet-stream")
        else:
            response = StreamingHttpResponse(_chunks_of(fh, start, length), status=206)
            response["Content-Type"] = "application/octet-stream"
            response["Content-Length"] = str(length)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return _with_headers(response, headers)


def _with_headers(response: HttpResponse, headers: dict[str, str]) -> HttpResponse:
    for key, value in headers.items():
        response[key] = value
    return response


def _requested_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) byte of a single `bytes=` range; None to send the whole file (no range, or one we do not
    take: several ranges, another unit); "unsatisfiable" when it starts past the end or names an absurd position."""
    match = _RANGE.match(header.strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if len(first) > POSITION_MAX_DIGITS or len(last) > POSITION_MAX_DIGITS:
        return "unsatisfiable"
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end:
        return "unsatisfiable"
    return start, end


def _chunks_of(fh: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    with fh:
        fh.seek(start)
        while length > 0:
            chunk = fh.read(min(filestore.CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def _allen_nwb1(wkf: WellKnownFile, source: Path) -> Path:
    from celltypes.atlas.bundled import STIMULUS_ONTOLOGY
    from celltypes.science.nwb import LAYOUT_ALLEN_NWB1, read_nwb, write_allen_nwb1

    target = filestore.derived_path("nwb1", f"{wkf.id}-{(wkf.sha256 or 'x')[:16]}.nwb")
    if target.is_file():
        return target
    try:
        recording = read_nwb(source, STIMULUS_ONTOLOGY)  # names the stimuli of files that do not store them
        if recording.layout == LAYOUT_ALLEN_NWB1:
            return source
        target.parent.mkdir(parents=True, exist_ok=True)
        write_allen_nwb1(recording, target)
    except (ScienceError, OSError, ValueError) as exc:
        log.warning("cannot convert %s to Allen NWB 1: %s", source, exc)
        raise FileUnavailable(
            f"well-known file {wkf.id} could not be converted to Allen's NWB 1 layout: {exc}"
        ) from exc
    return target
