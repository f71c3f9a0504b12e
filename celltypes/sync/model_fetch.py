"""Fetching the models Allen lists for a cell that this copy does not hold, from the models tab.

Allen's cell table counts a cell's models per kind; the ids come from the upstream (one RMA query of the cell's
NeuronalModel records, with a short deadline: a person is waiting). Each missing model is handed to the existing
``sync.neuronal_model_sync`` task by its registered name, with a task id made of the model id, so asking twice
queues it once; that task records the model and queues the fetch of its files. What was asked is kept in
``derived/model_fetch/<specimen id>.json``; the tab polls each model's state (queued, recorded, arrived with
its parameter file, or failed) until all have arrived, then reloads to show them.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from celery import current_app
from celery.result import AsyncResult
from django.conf import settings

from celltypes.atlas import filestore
from celltypes.atlas.selectors.models import MODEL_KINDS, held_model_get, model_kind
from celltypes.sync.client import UpstreamClient, UpstreamError

log = logging.getLogger(__name__)

MODEL_SYNC_TASK = "sync.neuronal_model_sync"
LISTING_TIMEOUT_S = 10.0  # the listing runs in the request
MAX_MODELS_PER_FETCH = 20  # Allen's cells have at most 7 models; more would be a broken answer
REQUEST_STALE_S = 3600.0  # a request older than this is forgotten (asked again on the next click)


class ModelFetchRefused(Exception):
    """The models cannot be fetched (no upstream, the upstream cannot list them, nothing to fetch)."""


@dataclass(frozen=True)
class ModelFetchState:
    model_id: int
    kind: str | None
    state: str  # queued, recorded (files on their way), arrived, retrying, failed
    message: str = ""


def _client() -> UpstreamClient | None:
    base = (settings.CELLTYPES_UPSTREAM or "").strip()
    return UpstreamClient(base, timeout=min(LISTING_TIMEOUT_S, settings.CELLTYPES_UPSTREAM_TIMEOUT)) if base else None


def upstream_configured() -> bool:
    return _client() is not None


def cell_models_query(specimen_id: int) -> str:
    """The RMA query of a cell's NeuronalModel ids and templates."""
    return (
        f"model::NeuronalModel,rma::criteria,[specimen_id$eq{int(specimen_id)}],"
        f"rma::options[only$eqid,neuronal_model_template_id][num_rows$eq{MAX_MODELS_PER_FETCH + 1}]"
    )


def _request_path(specimen_id: int):
    return filestore.derived_path("model_fetch", f"{int(specimen_id)}.json")


def _task_id(model_id: int) -> str:
    return f"model-sync-{int(model_id)}"


def missing_models_fetch_request(*, specimen_id: int, kinds: list[str]) -> list[int]:
    """List the cell's models on the upstream and queue the sync of those of ``kinds`` not held here; their ids."""
    client = _client()
    if client is None:
        raise ModelFetchRefused("no upstream is configured (CELLTYPES_UPSTREAM) to fetch the models from")
    try:
        rows = client.rma_query(cell_models_query(specimen_id))
    except UpstreamError as error:
        raise ModelFetchRefused(f"the upstream cannot list the cell's models: {error}") from None
    if len(rows) > MAX_MODELS_PER_FETCH:
        raise ModelFetchRefused(f"the upstream lists more than {MAX_MODELS_PER_FETCH} models for one cell")
    wanted = []
    for row in rows:
        try:
            model_id, template_id = int(row["id"]), int(row["neuronal_model_template_id"])
        except (KeyError, TypeError, ValueError):
            raise ModelFetchRefused(f"the upstream answered a malformed model record: {row!r}") from None
        kind = model_kind(template_id)
        if kind in kinds and kind in MODEL_KINDS and not _arrived(model_id):
            wanted.append(model_id)
    if not wanted:
        raise ModelFetchRefused("the upstream lists no model of this cell that is not held here")
    path = _request_path(specimen_id)
    earlier = _read(specimen_id)
    fresh = time.time() - earlier.get("at", 0) < REQUEST_STALE_S
    queued = set(earlier.get("models", [])) if fresh else set()
    failed = {str(k): v for k, v in (earlier.get("failed") or {}).items()} if fresh else {}
    for model_id in wanted:
        if model_id in queued and str(model_id) not in failed and _task_state(model_id)[0] != "failed":
            continue  # asked already and not failed: one task per model
        failed.pop(str(model_id), None)
        try:
            current_app.tasks[MODEL_SYNC_TASK].apply_async(args=[model_id], task_id=_task_id(model_id))
        except Exception as error:  # eager Celery raises the sync's error here; a broker may be down
            log.warning("the sync of model %s could not be queued or failed at once", model_id, exc_info=True)
            failed[str(model_id)] = str(error)
        queued.add(model_id)
    record = {"at": time.time(), "models": sorted(queued), "failed": failed}
    filestore.write_atomic(path, [json.dumps(record).encode()])
    return sorted(queued)


def _read(specimen_id: int) -> dict:
    try:
        return json.loads(_request_path(specimen_id).read_text())
    except (OSError, ValueError):
        return {}


def _arrived(model_id: int) -> bool:
    held = held_model_get(model_id=model_id)
    return held is not None and held.parameters_file is not None


def missing_models_fetch_progress(*, specimen_id: int) -> list[ModelFetchState]:
    """The state of each model asked for from this cell's tab (empty when none was asked, or long ago)."""
    asked = _read(specimen_id)
    if not asked or time.time() - asked.get("at", 0) > REQUEST_STALE_S:
        return []
    failed = {int(k): v for k, v in (asked.get("failed") or {}).items()}
    states = []
    for model_id in asked.get("models", []):
        held = held_model_get(model_id=model_id)
        kind = held.kind if held else None
        if held is not None and held.parameters_file is not None:
            states.append(ModelFetchState(model_id, kind, "arrived"))
        elif model_id in failed:
            states.append(ModelFetchState(model_id, kind, "failed", failed[model_id]))
        else:
            states.append(ModelFetchState(model_id, kind, *_task_state(model_id)))
    return states


def _task_state(model_id: int) -> tuple[str, str]:
    if current_app.conf.task_always_eager:
        return "recorded", ""
    try:
        result = AsyncResult(_task_id(model_id), app=current_app)
        state, info = result.state, result.info
    except Exception:
        log.warning("the result backend cannot be read for model %s", model_id, exc_info=True)
        return "queued", ""
    if state == "SUCCESS":
        return "recorded", str(info or "")
    if state == "RETRY":
        return "retrying", str(info or "")
    if state == "FAILURE":
        return "failed", str(info)
    return "queued", ""
