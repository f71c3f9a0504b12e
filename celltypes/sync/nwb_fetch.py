"""Fetching a cell's NWB file from the upstream in a Celery task, with progress a page can poll.

The progress lives in ``derived/fetch/<file id>.json`` (``state``: queued, fetching, done or error; ``bytes``
received; ``message``), written temp-then-rename; an in-flight marker beside it keeps one fetch per file
(a stale marker, past FETCH_LOCK_SECONDS, is taken over). The bytes go through ``well_known_file_fetch``
(the file store's temp-then-rename: a failed download leaves no partial file).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from celery import current_app

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import WellKnownFile
from celltypes.atlas.vocabulary import NO_UPSTREAM
from celltypes.sync.client import UpstreamError
from celltypes.sync.services import SyncError, upstream_client, well_known_file_fetch

log = logging.getLogger(__name__)

FETCH_TASK = "sync.nwb_fetch_with_progress"
FETCH_LOCK_SECONDS = 3600  # an NWB of a few hundred MB on a slow link
PROGRESS_EVERY_SECONDS = 0.5


class FetchRefused(Exception):
    """The fetch cannot be asked for (the message says why)."""


@dataclass(frozen=True)
class FetchProgress:
    state: str  # "none", "queued", "fetching", "done" or "error"
    bytes: int = 0
    total: int | None = None
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("done", "error")


def _progress_path(file_id: int) -> Path:
    return filestore.derived_path("fetch", f"{file_id}.json")


def _marker_path(file_id: int) -> Path:
    return filestore.derived_path("fetch", f"{file_id}.marker")


def _write(file_id: int, progress: FetchProgress) -> None:
    body = json.dumps(progress.__dict__).encode()
    filestore.write_atomic(_progress_path(file_id), [body])


def nwb_fetch_progress_get(*, file_id: int) -> FetchProgress:
    """What the last fetch of this file reached (state "done" when the file is held, "none" when never asked)."""
    if filestore.has_well_known_file(file_id):
        return FetchProgress("done", filestore.well_known_file_path(file_id).stat().st_size)
    try:
        stored = json.loads(_progress_path(file_id).read_text())
        return FetchProgress(**{k: stored[k] for k in ("state", "bytes", "total", "message")})
    except (OSError, ValueError, KeyError, TypeError):
        return FetchProgress("none")


def nwb_fetch_request(*, file_id: int) -> FetchProgress:
    """Queue the fetch of NWB file ``file_id`` unless it is held or being fetched; FetchRefused when it cannot be."""
    wkf = WellKnownFile.objects.filter(id=file_id, well_known_file_type_id=choices.NWB_DOWNLOAD[0]).first()
    if wkf is None:
        raise FetchRefused(f"no NWB file with id {file_id} is recorded here")
    if filestore.has_well_known_file(file_id):
        return nwb_fetch_progress_get(file_id=file_id)
    if upstream_client() is None:
        raise FetchRefused(NO_UPSTREAM)
    marker = _marker_path(file_id)
    marker.parent.mkdir(parents=True, exist_ok=True)
    if not filestore.claim_marker(marker, stale_after=FETCH_LOCK_SECONDS):
        return nwb_fetch_progress_get(file_id=file_id)  # already on its way
    _write(file_id, FetchProgress("queued", total=wkf.size))
    try:
        current_app.tasks[FETCH_TASK].delay(file_id)
    except Exception as exc:  # the broker is unreachable: say so, and let a later request try again
        marker.unlink(missing_ok=True)
        log.warning("could not queue the fetch of NWB file %s: %s", file_id, exc)
        _write(file_id, FetchProgress("error", message="the task queue is unreachable; try again later"))
    return nwb_fetch_progress_get(file_id=file_id)


def nwb_fetch_with_progress(*, file_id: int) -> FetchProgress:
    """Fetch NWB file ``file_id`` now, recording progress; the outcome is recorded too (never raised)."""
    total = WellKnownFile.objects.filter(id=file_id).values_list("size", flat=True).first()
    last = [0.0]

    def report(received: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_SECONDS:
            last[0] = now
            _write(file_id, FetchProgress("fetching", received, total))

    try:
        stored = well_known_file_fetch(file_id=file_id, progress=report)
        outcome = FetchProgress("done", stored.size, stored.size)
    except (UpstreamError, SyncError, OSError) as exc:
        log.warning("fetching NWB file %s failed: %s", file_id, exc)
        outcome = FetchProgress("error", message=str(exc))
    finally:
        _marker_path(file_id).unlink(missing_ok=True)
    _write(file_id, outcome)
    return outcome
