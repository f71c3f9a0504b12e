"""Upstream sync: bring Allen's records and files for a neuronal model into the local atlas, fetch files lazily.

Records are written in one transaction (all or nothing); each file goes through the file store's temp-then-rename,
so a failed or cut-off download leaves no partial file and no record claiming it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from celltypes.atlas import choices, filestore
from celltypes.atlas.models import (
    EphysResult,
    EphysSweep,
    NeuronalModel,
    NeuronalModelTemplate,
    NeuronReconstruction,
    Specimen,
    WellKnownFile,
    WellKnownFileType,
)
from celltypes.atlas.services.minted_ids import LOCAL_ID_BASE
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.sync.client import UpstreamClient, UpstreamError
from celltypes.sync.mapping import FileRecord, MappingError, ModelRecordSet, model_record_set, neuronal_model_query

log = logging.getLogger(__name__)

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
    fetch_errors: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [
            f"neuronal model {self.neuronal_model_id}: {self.files_recorded} file records, "
            f"{self.sweeps_recorded} sweeps; fetched {len(self.fetched)} files ({self.bytes_fetched:,} bytes)"
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


def well_known_file_fetch(
    *, file_id: int, client: UpstreamClient | None = None, progress: Callable[[int], None] | None = None
) -> filestore.StoredFile:
    """Download well-known file `file_id` from the upstream into the file store and record its size and sha256;
    `progress` is called with the bytes received so far after each chunk."""
    if not WellKnownFile.objects.filter(id=file_id).exists():
        raise SyncError(f"no well-known file {file_id} is recorded here; sync the record that owns it first")
    client = _required_client(client)
    target = filestore.well_known_file_path(file_id)
    with filestore.well_known_file_lock(file_id):
        if target.is_file():  # fetched by another request while this one waited for the lock
            return filestore.StoredFile(target, target.stat().st_size, filestore.sha256_of(target))
        chunks = client.file_chunks(file_id)
        stored = filestore.write_atomic(target, _counted(chunks, progress) if progress else chunks)
        WellKnownFile.objects.filter(id=file_id).update(size=stored.size, sha256=stored.sha256)
    log.info("fetched well-known file %s from %s (%s bytes)", file_id, client.base_url, stored.size)
    return stored


def _counted(chunks: Iterable[bytes], progress: Callable[[int], None]) -> Iterator[bytes]:
    received = 0
    for chunk in chunks:
        received += len(chunk)
        progress(received)
        yield chunk


def neuronal_model_sync(
    *, neuronal_model_id: int, client: UpstreamClient | None = None, fetch_files: bool = True
) -> SyncReport:
    """Record what the AllenSDK's `BiophysicalApi.cache_data` needs for one model, then fetch the files not held.

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
    if fetch_files:
        _fetch_missing(_all_files(records), client, report)
    return report


def _all_files(records: ModelRecordSet) -> list[FileRecord]:
    files = [*records.template_files, *records.model_files, *records.ephys_result_files]
    for reconstruction_files in records.reconstruction_files.values():
        files += reconstruction_files
    return files


def _fetch_missing(files: list[FileRecord], client: UpstreamClient, report: SyncReport) -> None:
    recorded = set(WellKnownFile.objects.filter(id__in=[f.id for f in files]).values_list("id", flat=True))
    for file in files:
        if file.type_id not in PREFETCHED_TYPE_IDS or file.id not in recorded or filestore.has_well_known_file(file.id):
            continue
        try:
            stored = well_known_file_fetch(file_id=file.id, client=client)
        except UpstreamError as exc:
            report.fetch_errors[file.id] = str(exc)
            continue
        report.fetched.append(file.id)
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
            **{name: None for name in OWNER_FIELDS},
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
