"""A well-known file the database records but the store lacks, fetched once from the upstream by the worker, with
a state a page can poll (the morphology tab's SWC).

The fetch itself is the worker's task ``sync.well_known_file_fetch`` (queued by its registered name; the bytes go
through the file store's checks, temp-then-rename). Queueing leaves an in-flight marker
``derived/fetch/<file id>.queued``, so one fetch is queued however many pages poll; a failure the fetch records
after the marker (``filestore.fetch_failure_since``) is the error a page shows, and the marker is dropped when the
file is held or the fetch is asked again. Nothing here writes to the database.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from celery import current_app
from django.conf import settings

from celltypes.atlas import filestore
from celltypes.sync.services import upstream_client

log = logging.getLogger(__name__)

FETCH_TASK = "sync.well_known_file_fetch"
QUEUE_UNREACHABLE = "the task queue is unreachable; try again later"


@dataclass(frozen=True)
class FileFetch:
    """Where a file stands: ``held``; ``fetching`` (queued, not done yet); ``error`` (the fetch failed, ``message``
    says why, ``retryable`` whether the worker's task asks again on its own); ``none`` (never asked, or the last ask
    was lost); ``offline`` (no upstream to fetch it from)."""

    state: str
    message: str = ""
    retryable: bool = False  # an error that may pass (timeout, 5xx, a dropped connection): the task asks again


def _failure(recorded: str) -> FileFetch:
    """The error state of a failure the fetch recorded (services.well_known_file_fetch writes JSON)."""
    try:
        failure = json.loads(recorded)
        return FileFetch("error", str(failure["message"]), bool(failure.get("retryable")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return FileFetch("error", recorded)


def _marker_path(file_id: int) -> Path:
    return filestore.derived_path("fetch", f"{int(file_id)}.queued")


def _marker_age(file_id: int) -> tuple[float, float] | None:
    """(when the fetch was queued, seconds since), or None when no fetch is marked in flight."""
    try:
        queued_at = _marker_path(file_id).stat().st_mtime
    except FileNotFoundError:
        return None
    return queued_at, time.time() - queued_at


def _stale_after() -> float:
    """A queued fetch not done after this long was lost (the broker's visibility timeout covers its retries)."""
    return float(settings.CELERY_VISIBILITY_TIMEOUT)


def file_fetch_state(*, file_id: int, held: bool) -> FileFetch:
    """The state of file ``file_id`` (``held``: whether the store holds it in good order, as the caller checked)."""
    if held:
        _marker_path(file_id).unlink(missing_ok=True)
        return FileFetch("held")
    if upstream_client() is None:
        return FileFetch("offline")
    marked = _marker_age(file_id)
    if marked is None:
        return FileFetch("none")
    queued_at, age = marked
    failure = filestore.fetch_failure_since(file_id, queued_at)
    if failure is not None:
        return _failure(failure)
    if age > _stale_after():
        return FileFetch("none")
    return FileFetch("fetching")


def file_fetch_request(*, file_id: int, held: bool, again: bool = False) -> FileFetch:
    """Queue the fetch of file ``file_id`` unless it is held, already queued or failed since (``again``: a user
    asked to try once more, so a failed or lost fetch is queued anew). Returns the state after."""
    state = file_fetch_state(file_id=file_id, held=held)
    if state.state in ("held", "offline", "fetching") or (state.state == "error" and not again):
        return state
    marker = _marker_path(file_id)
    if again:
        marker.unlink(missing_ok=True)
    if not filestore.claim_marker(marker, stale_after=_stale_after()):
        return file_fetch_state(file_id=file_id, held=held)  # another request queued it a moment ago
    try:
        current_app.tasks[FETCH_TASK].delay(file_id)
    except Exception as exc:  # the broker is down, or (eager Celery) the fetch itself failed in this request
        recorded = filestore.fetch_failure_since(file_id, marker.stat().st_mtime) if marker.exists() else None
        if recorded is not None:
            return _failure(recorded)
        marker.unlink(missing_ok=True)
        log.warning("could not queue the fetch of well-known file %s: %s", file_id, exc)
        eager = current_app.conf.task_always_eager  # the task ran here: its own error, not the queue's
        return FileFetch("error", str(exc) if eager else QUEUE_UNREACHABLE)
    return FileFetch("fetching")
