"""Upstream sync: bring Allen's records and files for a neuronal model into the local atlas, fetch files lazily.

Records are written in one transaction (all or nothing); each file goes through the file store's temp-then-rename,
so a failed or cut-off download leaves no partial file and no record claiming it.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import (
    EphysResult,
    EphysSweep,
    NeuronalModel,
    NeuronalModelRun,
    NeuronalModelTemplate,
    NeuronReconstruction,
    Specimen,
    WellKnownFile,
    WellKnownFileType,
)
from celltypes.atlas.services.minted_ids import LOCAL_ID_BASE
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.sync.client import UpstreamClient, UpstreamError, UpstreamUnavailable
from celltypes.sync.file_checks import well_known_file_check
from celltypes.sync.mapping import FileRecord, MappingError, ModelRecordSet, model_record_set, neuronal_model_query

log = logging.getLogger(__name__)

FETCH_FILE_TASK = "sync.well_known_file_fetch"  # the worker's task, queued by name (sync/tasks.py registers it)

OWNER_FIELDS = (
    "ephys_result",
    "neuron_reconstruction",
    "neuronal_model",
    "neuronal_model_template",
    "neuronal_model_run",
)
# What `BiophysicalApi.cache_data` downloads; other files (thumbnails, uncompressed NWB) are fetched when asked for.
PREFETCHED_TYPE_IDS = {
    file_type[0]
    for file_type in (
        choices.MODEL_DESCRIPTION,
        choices.MODEL_PARAMETERS,
        choices.RECONSTRUCTION,
        choices.MARKER,
        choices.NWB_DOWNLOAD,
    )
}
SWEEP_FIELDS = tuple(f.name for f in EphysSweep._meta.concrete_fields if f.name not in ("id", "specimen"))


class SyncError(Exception):
    """The upstream records cannot be brought in (malformed, or they refer to what the local atlas lacks)."""


@dataclass
class SyncReport:
    neuronal_model_id: int
    files_recorded: int = 0
    sweeps_recorded: int = 0
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    fetched: list[int] = field(default_factory=list)
    bytes_fetched: int = 0
    queued: list[int] = field(default_factory=list)
    fetch_errors: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [
            f"neuronal model {self.neuronal_model_id}: {self.files_recorded} file records, "
            f"{self.sweeps_recorded} sweeps; fetched {len(self.fetched)} files ({self.bytes_fetched:,} bytes)"
            + (f"; queued {len(self.queued)} files for the worker" if self.queued else "")
        ]
        parts += [f"replaced {item}" for item in self.replaced]
        parts += [f"skipped {item}" for item in self.skipped]
        parts += [f"file {file_id} not fetched: {error}" for file_id, error in self.fetch_errors.items()]
        return "\n".join(parts)


def upstream_client() -> UpstreamClient | None:
    """The configured upstream, or None when CELLTYPES_UPSTREAM is empty (offline: serve only what is held)."""
    base = (settings.CELLTYPES_UPSTREAM or "").strip()
    return UpstreamClient(base, timeout=settings.CELLTYPES_UPSTREAM_TIMEOUT) if base else None


def _required_client(client: UpstreamClient | None) -> UpstreamClient:
    client = client or upstream_client()
    if client is None:
        raise UpstreamError("no upstream is configured (CELLTYPES_UPSTREAM is empty)")
    return client


class FetchInProgress(UpstreamUnavailable):
    """Another request or worker is fetching this file and did not finish while we waited: ask again later."""


def well_known_file_fetch(
    *,
    file_id: int,
    client: UpstreamClient | None = None,
    deadline: float | None = None,
    lock_wait: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> filestore.StoredFile:
    """Download well-known file `file_id` from the upstream into the file store and record its size and sha256.

    The body is checked before it is kept (framing, published size and digest, the file's kind: see
    sync.client and sync.file_checks); a failed check keeps nothing. `deadline` bounds the download and
    `lock_wait` the wait for another fetch of the same file (defaults: CELLTYPES_FETCH_TASK_DEADLINE, the budget
    of a worker, and CELLTYPES_FETCH_LOCK_WAIT; FetchInProgress after that). A request that waited for another
    fetch which then failed gets that failure rather than trying again at once. `progress` is called with the bytes
    received so far after each chunk.
    """
    deadline = settings.CELLTYPES_FETCH_TASK_DEADLINE if deadline is None else deadline
    lock_wait = settings.CELLTYPES_FETCH_LOCK_WAIT if lock_wait is None else lock_wait
    asked_at = time.time()
    recorded = False  # a failure is recorded inside the file's lock, so that those waiting for it see it
    try:
        wkf = WellKnownFile.objects.filter(id=file_id).first()
        if wkf is None:
            raise SyncError(f"no well-known file {file_id} is recorded here; sync the record that owns it first")
        client = _required_client(client)
        with filestore.well_known_file_lock(file_id, timeout=lock_wait) as waited:
            try:
                held = filestore.held_well_known_file(file_id, size=wkf.size, sha256=wkf.sha256)
                if held is not None:  # held in good order, or fetched by another request while this one waited
                    return held
                if waited:
                    failure = filestore.fetch_failure_since(file_id, asked_at)
                    if failure is not None:
                        recorded = True  # by the fetch this one waited for
                        raise _failure_load(failure)
                stored = _download(wkf, client, deadline, progress)
                WellKnownFile.objects.filter(id=file_id).update(size=stored.size, sha256=stored.sha256)
            except Exception as exc:
                if not recorded:
                    filestore.fetch_failure_record(file_id, _failure_dump(exc))
                    recorded = True
                raise
    except filestore.LockTimeout:
        raise FetchInProgress(
            f"well-known file {file_id} is being fetched from the upstream by another request or worker"
        ) from None
    except Exception as exc:  # any failure (not only the upstream's): a page polling this fetch shows it at once
        if not recorded:
            filestore.fetch_failure_record(file_id, _failure_dump(exc))
        raise
    log.info("fetched well-known file %s from %s (%s bytes)", file_id, client.base_url, stored.size)
    return stored


def well_known_file_fetch_queue(*, file_id: int) -> bool:
    """Hand the fetch of file `file_id` to a worker; False when the broker cannot take it."""
    try:
        current_app.tasks[FETCH_FILE_TASK].apply_async(args=[file_id], retry=False)  # one try: a request is waiting
    except Exception:  # broker unreachable or misconfigured: the caller answers without the hand-off
        log.warning("could not queue the fetch of well-known file %s", file_id, exc_info=True)
        return False
    return True


def _download(
    wkf: WellKnownFile, client: UpstreamClient, deadline: float, progress: Callable[[int], None] | None = None
) -> filestore.StoredFile:
    """Fetch, check and keep the file (the caller holds its lock and records a failure for those who wait)."""
    check = functools.partial(well_known_file_check, type_id=wkf.well_known_file_type_id, file_name=wkf.file_name)
    chunks = client.file_chunks(wkf.id, deadline=deadline)
    stored = filestore.write_atomic(
        filestore.well_known_file_path(wkf.id), _counted(chunks, progress) if progress else chunks, check=check
    )
    filestore.fetch_failure_record(wkf.id, None)
    return stored


def _failure_dump(exc: Exception) -> str:
    """The failure record file_fetch reads; an error that is not the upstream's (SyncError, a full disk) does not
    pass by itself: not retryable."""
    if isinstance(exc, UpstreamError):
        return json.dumps({"message": str(exc), "timed_out": exc.timed_out, "retryable": exc.retryable})
    return json.dumps({"message": str(exc) or type(exc).__name__, "timed_out": False, "retryable": False})


def _failure_load(text: str) -> UpstreamError:
    try:
        failure = json.loads(text)
        message, timed_out, retryable = failure["message"], bool(failure["timed_out"]), bool(failure["retryable"])
    except (ValueError, KeyError, TypeError):
        message, timed_out, retryable = text, False, True
    message = f"the fetch this request waited for failed: {message}"
    if retryable:
        return UpstreamUnavailable(message, timed_out=timed_out)
    return UpstreamError(message, timed_out=timed_out)


def _counted(chunks: Iterable[bytes], progress: Callable[[int], None]) -> Iterator[bytes]:
    received = 0
    for chunk in chunks:
        received += len(chunk)
        progress(received)
        yield chunk


def neuronal_model_sync(
    *,
    neuronal_model_id: int,
    client: UpstreamClient | None = None,
    fetch_files: bool = True,
    queue_files: bool = False,
) -> SyncReport:
    """Record what the AllenSDK's `BiophysicalApi.cache_data` needs for one model, then fetch the files not held
    (`queue_files`: hand each to a worker task instead, with its own time limit and retries).

    Upstream records replace local stand-ins: a minted id (>= LOCAL_ID_BASE) for the same owner and file type, or
    the specimen's minted ephys result, gives way to Allen's id.
    """
    client = _required_client(client)
    rows = client.rma_query(neuronal_model_query(neuronal_model_id))
    if not rows:
        raise SyncError(f"the upstream has no neuronal model {neuronal_model_id}")
    try:
        records = model_record_set(rows[0])
    except MappingError as exc:
        raise SyncError(f"the upstream record is malformed: {exc}") from exc
    if records.model_id != neuronal_model_id:
        raise SyncError(f"asked for neuronal model {neuronal_model_id}, the upstream answered {records.model_id}")
    report = SyncReport(neuronal_model_id)
    stale: list[Path] = []
    try:
        with transaction.atomic():
            _record(records, report, stale)
            atlas_version_bump()
            transaction.on_commit(lambda: [path.unlink(missing_ok=True) for path in stale])
    except IntegrityError as exc:
        raise SyncError(f"the upstream records conflict with local ones: {exc}") from exc
    if queue_files:
        _queue_missing(_all_files(records), report)
    elif fetch_files:
        _fetch_missing(_all_files(records), client, report)
    return report


def _all_files(records: ModelRecordSet) -> list[FileRecord]:
    files = [*records.template_files, *records.model_files, *records.ephys_result_files]
    for reconstruction_files in records.reconstruction_files.values():
        files += reconstruction_files
    return files


def _missing(files: list[FileRecord]) -> list[int]:
    """The ids of the files the SDK downloads that are recorded here but not held in good order."""
    recorded = {
        file_id: (size, sha256)
        for file_id, size, sha256 in WellKnownFile.objects.filter(id__in=[f.id for f in files]).values_list(
            "id", "size", "sha256"
        )
    }
    return [
        file.id
        for file in files
        if file.type_id in PREFETCHED_TYPE_IDS
        and file.id in recorded
        and filestore.held_well_known_file(file.id, size=recorded[file.id][0], sha256=recorded[file.id][1]) is None
    ]


def _queue_missing(files: list[FileRecord], report: SyncReport) -> None:
    for file_id in _missing(files):
        try:
            current_app.tasks[FETCH_FILE_TASK].delay(file_id)
        except Exception as exc:  # the broker cannot take it: say so in the report
            report.fetch_errors[file_id] = f"could not be queued: {type(exc).__name__}: {exc}"
            continue
        report.queued.append(file_id)


def _fetch_missing(files: list[FileRecord], client: UpstreamClient, report: SyncReport) -> None:
    for file_id in _missing(files):
        try:
            stored = well_known_file_fetch(file_id=file_id, client=client)
        except UpstreamError as exc:
            report.fetch_errors[file_id] = str(exc)
            continue
        report.fetched.append(file_id)
        report.bytes_fetched += stored.size


def _record(records: ModelRecordSet, report: SyncReport, stale: list[Path]) -> None:
    specimen = Specimen.objects.select_related("ephys_result").filter(id=records.specimen_id).first()
    if specimen is None:
        raise SyncError(
            f"specimen {records.specimen_id} of neuronal model {records.model_id} is not in the local atlas"
        )
    template = NeuronalModelTemplate.objects.filter(id=records.template_id).first()
    if template is None:
        raise SyncError(f"neuronal model template {records.template_id} is not in the local atlas")
    model, _ = NeuronalModel.objects.update_or_create(
        id=records.model_id,
        defaults={"name": records.name, "specimen": specimen, "neuronal_model_template": template},
    )
    for run in records.runs:  # a metric the record does not carry keeps its local value
        NeuronalModelRun.objects.update_or_create(
            id=run["id"], defaults={"neuronal_model": model, **{k: v for k, v in run.items() if k != "id"}}
        )
    _record_files("neuronal_model_template", template, records.template_files, report, stale)
    _record_files("neuronal_model", model, records.model_files, report, stale)
    if records.ephys_result is not None:
        ephys_result = _ephys_result_adopt(specimen, records.ephys_result, report)
        _record_files("ephys_result", ephys_result, records.ephys_result_files, report, stale)
    held = set(NeuronReconstruction.objects.filter(id__in=records.reconstruction_files).values_list("id", flat=True))
    for reconstruction_id, files in records.reconstruction_files.items():
        if reconstruction_id not in held:
            report.skipped.append(f"neuron reconstruction {reconstruction_id} (not in the local atlas)")
            continue
        _record_files("neuron_reconstruction", NeuronReconstruction(id=reconstruction_id), files, report, stale)
    for sweep in records.sweeps:
        EphysSweep.objects.filter(specimen=specimen, sweep_number=sweep["sweep_number"]).exclude(
            id=sweep["id"]
        ).delete()
        EphysSweep.objects.update_or_create(
            id=sweep["id"],
            defaults={"specimen": specimen, **{name: sweep.get(name) for name in SWEEP_FIELDS if name in sweep}},
        )
        report.sweeps_recorded += 1


def _ephys_result_adopt(specimen: Specimen, upstream: dict, report: SyncReport) -> EphysResult:
    """The specimen's ephys result under Allen's id (a local stand-in gives way, taking its files along)."""
    result_id = upstream["id"]  # an integer: checked by mapping.model_record_set
    local = specimen.ephys_result
    fields = {name: upstream[name] for name in ("failed", "sampling_rate") if upstream.get(name) is not None}
    result, _ = EphysResult.objects.update_or_create(id=result_id, defaults=fields)
    if local is not None and local.id != result_id:
        WellKnownFile.objects.filter(ephys_result=local).update(ephys_result=result, attachable_id=result_id)
        specimen.ephys_result = result
        specimen.save(update_fields=["ephys_result"])
        report.replaced.append(f"ephys result {local.id} -> {result_id} (specimen {specimen.id})")
        local.delete()
    elif local is None:
        specimen.ephys_result = result
        specimen.save(update_fields=["ephys_result"])
    return result


def _record_files(owner_field: str, owner, files: tuple[FileRecord, ...], report: SyncReport, stale: list[Path]):
    for type_id, type_name in {(f.type_id, f.type_name) for f in files}:
        WellKnownFileType.objects.update_or_create(id=type_id, defaults={"name": type_name})
    for file in files:
        defaults = {
            "path": file.path,
            "attachable_type": file.attachable_type,
            "attachable_id": file.attachable_id,
            "well_known_file_type_id": file.type_id,
            **dict.fromkeys(OWNER_FIELDS),
            owner_field: owner,
        }
        # A well-known file id names fixed content: a copy already held stays valid even where the path differs.
        WellKnownFile.objects.update_or_create(id=file.id, defaults=defaults)
        report.files_recorded += 1
    stand_ins = WellKnownFile.objects.filter(
        **{owner_field: owner},
        well_known_file_type_id__in={f.type_id for f in files},
        id__gte=LOCAL_ID_BASE,
    ).exclude(id__in=[f.id for f in files])
    for stand_in in stand_ins:
        report.replaced.append(f"well-known file {stand_in.id} ({stand_in.file_name}) of {owner_field} {owner.pk}")
        stale.append(filestore.well_known_file_path(stand_in.id))
    stand_ins.delete()
