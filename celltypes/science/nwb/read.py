"""Reading a whole recording, its summary, or one sweep at a time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InvalidFileError
from .hdf5 import H5File, PathLike, open_nwb
from .layouts import READERS, detect_layout, nwb_version
from .records import NwbRecording, NwbSummary, Sweep
from .stimulus import StimulusOntology, resolve_ontology

_PLACEHOLDERS = {"", "PLACEHOLDER", "N/A", "NA", "none", "None"}


@contextmanager
def _opened(path: PathLike) -> Iterator[H5File]:
    """The open file; HDF5 damage met outside the checked accessors becomes an InvalidFileError too."""
    f = open_nwb(path)
    try:
        yield f
    except (OSError, RuntimeError) as exc:
        raise InvalidFileError(f.path, f"damaged HDF5 file ({exc})", where="/") from exc
    finally:
        f.h.close()


def _specimen_name(f: H5File) -> tuple[str, str]:
    for name in ("general/aibs_specimen_name", "general/specimen_name"):
        stored = f.text(name) if f.has(name) else None
        if stored and stored.strip() not in _PLACEHOLDERS:
            return stored.strip(), "/" + name
    description = f.text("session_description") if f.has("session_description") else None
    if description and description.strip() not in _PLACEHOLDERS and len(description) < 120:
        return description.strip(), "/session_description"
    return Path(f.path).stem, "file name"


def _optional_text(f: H5File, name: str) -> str | None:
    return f.text(name) if f.has(name) else None


def read_nwb(path: PathLike, ontology: StimulusOntology | PathLike | None, *, lazy: bool = True) -> NwbRecording:
    """Read an NWB file of any supported layout: every sweep's metadata and stimulus, responses on first use.

    ``ontology`` is a :class:`StimulusOntology` or the path of an ipfx ontology JSON, naming the stimuli of
    files that do not store the names; ``None`` leaves those "Unknown". With ``lazy=False`` every response is
    read now (so a damaged dataset fails here, not later).
    """
    resolved = resolve_ontology(ontology)
    with _opened(path) as f:
        version = nwb_version(f)
        layout = detect_layout(f, version)
        sweeps = READERS[layout].read_sweeps(f, resolved)
        name, name_source = _specimen_name(f)
        id_text = (_optional_text(f, "general/aibs_specimen_id") or "").strip()
        recording = NwbRecording(
            path=f.path,
            layout=layout,
            nwb_version=version,
            name=name,
            name_source=name_source,
            sweeps=sweeps,
            identifier=_optional_text(f, "identifier"),
            session_start_time=_optional_text(f, "session_start_time"),
            session_description=_optional_text(f, "session_description"),
            specimen_id=int(id_text) if id_text.isdigit() else None,
        )
    if not lazy:
        for sweep in recording.sweeps:
            _ = sweep.response
    return recording


def summarise_nwb(path: PathLike, ontology: StimulusOntology | PathLike | None) -> NwbSummary:
    """Specimen name and per-sweep metadata; reads stimulus samples but no response samples."""
    recording = read_nwb(path, ontology)
    return NwbSummary(
        path=recording.path,
        layout=recording.layout,
        nwb_version=recording.nwb_version,
        name=recording.name,
        name_source=recording.name_source,
        sweeps=[s.info() for s in recording.sweeps],
        identifier=recording.identifier,
        session_start_time=recording.session_start_time,
        specimen_id=recording.specimen_id,
    )


def list_sweeps(path: PathLike) -> list[int]:
    """The sweep numbers of the file, read from group names and attributes only (no samples)."""
    with _opened(path) as f:
        return READERS[detect_layout(f, nwb_version(f))].sweep_numbers(f)


def read_sweep(
    path: PathLike,
    sweep_number: int,
    ontology: StimulusOntology | PathLike | None,
    *,
    electrode: str | None = None,
) -> Sweep:
    """One sweep with both traces read (only its own datasets; the rest of the file is never loaded).

    A sweep number the file lacks, or one recorded on several electrodes when ``electrode`` does not pick
    one, is an :class:`InvalidFileError`, as is a damaged dataset.
    """
    resolved = resolve_ontology(ontology)
    with _opened(path) as f:
        reader = READERS[detect_layout(f, nwb_version(f))]
        numbers = reader.sweep_numbers(f)
        if sweep_number not in numbers:
            f.fail(None, f"no sweep {sweep_number} (the file has {_ranges(numbers)})")
        recorded = reader.read_sweeps(f, resolved, only=sweep_number)
        chosen = [s for s in recorded if electrode is None or s.electrode == electrode]
        if len(chosen) != 1:
            what = f"no electrode {electrode!r}" if not chosen else "several electrodes; pass one"
            f.fail(None, f"sweep {sweep_number} has {what} (it has {', '.join(str(s.electrode) for s in recorded)})")
        return chosen[0].load(f.h)


def _ranges(numbers: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> "sweeps 0-2, 5"."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    listed = ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)
    return f"sweeps {listed}" if runs else "no sweeps"
