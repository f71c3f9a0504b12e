"""Import a lab's own NWB recording as a specimen of its own (``manage.py import_nwb``, the admin's upload form).

The file is read with our readers (NWB 2, MIES NWB 1, Allen NWB 1) on the very bytes the store will keep: it is
copied to a temporary file beside its place in the store, read there (every sweep's metadata; each current-clamp
sweep's spikes counted), and renamed into place only when that succeeds. Then, in one transaction, a Specimen,
its LabRecording (the mark that it is a lab upload, never Allen's record) and its EphysSweep rows are written.
A damaged file, a file with no current-clamp sweep, or one already imported raises LabImportError and leaves
nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction

from celltypes.atlas import filestore
from celltypes.atlas.bundled import STIMULUS_ONTOLOGY
from celltypes.atlas.models import EphysSweep, LabRecording, Specimen
from celltypes.atlas.services.minted_ids import IdMinter
from celltypes.atlas.services.versions import atlas_version_bump
from celltypes.atlas.vocabulary import SPECIES
from celltypes.science.ephys.nwb_sweeps import is_current_clamp, spike_count
from celltypes.science.errors import ScienceError
from celltypes.science.nwb import NwbRecording, SweepInfo, read_nwb

MAX_FILE_BYTES = 4 << 30  # 4 GiB: larger than any single-cell recording we know of
MAX_SWEEPS = 2000
NAME_LENGTH = Specimen._meta.get_field("name").max_length


class LabImportError(Exception):
    """The file cannot be imported (the message says why); nothing was written."""


@dataclass(frozen=True)
class _Checked:
    recording: NwbRecording
    sweeps: list[SweepInfo]
    spikes: dict[int, int | None]  # current-clamp sweep number -> spikes counted


def _check(path: Path) -> _Checked:
    """Read every sweep of ``path``; count the spikes of each current-clamp sweep."""
    try:
        recording = read_nwb(path, STIMULUS_ONTOLOGY)
        if len(recording.sweeps) > MAX_SWEEPS:
            raise LabImportError(f"the file holds {len(recording.sweeps)} sweeps; at most {MAX_SWEEPS} are imported")
        clamped = [s for s in recording.sweeps if is_current_clamp(s)]
        if not clamped:
            modes = sorted({str(s.clamp_mode or s.stimulus_units) for s in recording.sweeps})
            raise LabImportError(
                f"the file holds no current-clamp sweep ({len(recording.sweeps)} sweeps, {', '.join(modes) or 'none'})"
            )
        numbers = [s.sweep_number for s in recording.sweeps]
        if len(set(numbers)) != len(numbers):
            raise LabImportError("the file records a sweep on several electrodes; import one electrode's file")
        spikes = {s.sweep_number: spike_count(s) for s in clamped}
        return _Checked(recording, [s.info() for s in recording.sweeps], spikes)
    except ScienceError as exc:
        raise LabImportError(f"not a readable NWB recording: {exc}") from exc
    except OSError as exc:
        raise LabImportError(f"not a readable NWB recording: {exc}") from exc


def lab_recording_import(
    *, source: Path, file_name: str | None = None, name: str | None = None, species: str = ""
) -> LabRecording:
    """Import the NWB file ``source`` (``file_name``: its name as the lab gave it) as a new specimen."""
    source = Path(source)
    file_name = Path(file_name or source.name).name
    if not source.is_file():
        raise LabImportError(f"{source}: no such file")
    size = source.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LabImportError(f"{file_name} is {size:,} bytes; at most {MAX_FILE_BYTES:,} are imported")
    sha256 = filestore.sha256_of(source)
    _refuse_duplicate(sha256, file_name)
    mint = IdMinter()
    specimen_id = mint("lab_recording", sha256)
    target = filestore.lab_recording_path(specimen_id)
    checked: list[_Checked] = []
    chunks = filestore.read_chunks(source)
    stored = filestore.write_atomic(target, chunks, check=lambda tmp: checked.append(_check(tmp)))
    if stored.sha256 != sha256:
        _discard(target, specimen_id)
        raise LabImportError(f"{file_name} changed while it was being imported; try again")
    try:
        with transaction.atomic():
            mint.save()
            record = _write(specimen_id, checked[0], stored, file_name, name, species, mint)
    except IntegrityError as exc:
        _discard(target, specimen_id)
        _refuse_duplicate(sha256, file_name)
        raise LabImportError(f"{file_name} cannot be recorded: {exc}") from exc
    except BaseException:
        _discard(target, specimen_id)
        raise
    return record


def _refuse_duplicate(sha256: str, file_name: str) -> None:
    existing = LabRecording.objects.select_related("specimen").filter(sha256=sha256).first()
    if existing is not None:
        raise LabImportError(
            f"{file_name} is already imported: the same bytes are specimen {existing.specimen_id} "
            f"({existing.specimen.name}, from {existing.file_name})"
        )


def _species(given: str) -> str:
    """A known species by its label ("Mouse" for "mouse", "Mus musculus"); anything else as given."""
    lowered = given.strip().lower()
    known = next((s for s in SPECIES if lowered in (s.key, s.label.lower(), *(n.lower() for n in s.spellings))), None)
    return known.label if known else given.strip()


def _discard(target: Path, specimen_id: int) -> None:
    """Remove a stored copy no LabRecording row owns."""
    if not LabRecording.objects.filter(specimen_id=specimen_id).exists():
        target.unlink(missing_ok=True)


def _write(
    specimen_id: int,
    checked: _Checked,
    stored: filestore.StoredFile,
    file_name: str,
    name: str | None,
    species: str,
    mint: IdMinter,
) -> LabRecording:
    recording = checked.recording
    specimen = Specimen.objects.create(
        id=specimen_id, name=(name or "").strip()[:NAME_LENGTH] or recording.name[:NAME_LENGTH], is_cell_specimen=True
    )
    record = LabRecording.objects.create(
        specimen=specimen,
        file_name=file_name[:255],
        sha256=stored.sha256,
        size=stored.size,
        layout=recording.layout,
        nwb_version=recording.nwb_version[:40],
        species=_species(species)[:100],
    )
    EphysSweep.objects.bulk_create(
        [
            EphysSweep(
                id=mint("lab_sweep", f"{stored.sha256}:{s.sweep_number}"),
                specimen=specimen,
                sweep_number=s.sweep_number,
                stimulus_name=s.stimulus_name,
                stimulus_description=s.stimulus_description or s.raw_stimulus_description[:200] or None,
                stimulus_units=s.stimulus_units,
                stimulus_absolute_amplitude=s.stimulus_absolute_amplitude,
                stimulus_start_time=s.stimulus_start_time,
                stimulus_duration=s.stimulus_duration,
                stimulus_interval=s.stimulus_interval,
                num_spikes=checked.spikes.get(s.sweep_number),
                sampling_rate=s.sampling_rate,
            )
            for s in checked.sweeps
        ]
    )
    mint.save()
    atlas_version_bump()
    return record


def lab_recording_delete(*, specimen_id: int) -> None:
    """Remove a lab upload whole: its specimen, sweeps and record, then its stored file (a LabRecording never goes
    alone, which would leave a specimen looking like Allen's)."""
    with transaction.atomic():
        Specimen.objects.filter(id=specimen_id, lab_recording__isnull=False).delete()
        atlas_version_bump()
        transaction.on_commit(lambda: filestore.lab_recording_path(specimen_id).unlink(missing_ok=True))
