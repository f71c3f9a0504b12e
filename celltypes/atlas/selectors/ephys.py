"""Reads of a cell's electrophysiology: Allen's EphysFeature record, the sweep table, the recordings we hold.

A recording is held two ways: a HeldTraceWindow (a window of one sweep kept outside any NWB file, ours and
never Allen's record; read from the bundled demo folder) or the cell's NWB file in the file store (the demo
set's raw MIES recordings, or one fetched from the upstream). :func:`sweep_trace_get` draws either; a voltage-
clamp sweep is drawn as command and current, never searched for spikes. Nothing here writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.db.models import QuerySet

from celltypes.atlas import choices, filestore
from celltypes.atlas.bundled import DEMO_DIR, STIMULUS_ONTOLOGY
from celltypes.atlas.models import EphysFeature, EphysSweep, HeldTraceWindow, LabRecording, WellKnownFile
from celltypes.atlas.vocabulary import LONG_SQUARE, VOLTAGE_CLAMP_UNITS
from celltypes.science.ephys.downsample import DEFAULT_POINTS
from celltypes.science.ephys.npz_sweeps import NpzSweep, read_npz_sweep
from celltypes.science.ephys.nwb_sweeps import ClampArrays, clamp_arrays
from celltypes.science.ephys.trace_view import (
    CurrentClampAnalysis,
    analyse_current_clamp,
    current_clamp_view,
    voltage_clamp_view,
)
from celltypes.science.errors import ScienceError

log = logging.getLogger(__name__)
TRACE_CACHE_SIZE = 16  # analysed held windows kept per process (about 1.2 MB each)


class SweepNotHeld(Exception):
    """No samples of this sweep are held here (the message says why)."""


@dataclass(frozen=True)
class CellEphys:
    record: EphysFeature | None
    sweeps: list[EphysSweep]
    files: list[WellKnownFile]
    held_windows: list[HeldTraceWindow] = field(default_factory=list)
    held_nwb: WellKnownFile | None = None  # the NWB file whose bytes the file store holds
    lab_recording: LabRecording | None = None  # a lab's own upload (never Allen's record)
    lab_file_held: bool = False  # the store holds the lab recording's bytes, unchanged

    @property
    def held_sweep_numbers(self) -> set[int]:
        """Sweeps whose samples can be drawn."""
        numbers = {w.sweep_number for w in self.held_windows}
        if self.held_nwb is not None or self.lab_file_held:
            numbers |= {s.sweep_number for s in self.sweeps}
        return numbers

    @property
    def has_recording(self) -> bool:
        return bool(self.held_windows) or self.held_nwb is not None or self.lab_file_held


def cell_ephys_get(*, specimen_id: int) -> CellEphys:
    """The cell's EphysFeature record, its sweeps (by sweep number), its NWB files and what of them is held."""
    sweeps = list(
        EphysSweep.objects.filter(specimen_id=specimen_id)
        .only(
            "id",
            "sweep_number",
            "stimulus_name",
            "stimulus_absolute_amplitude",
            "stimulus_units",
            "stimulus_duration",
            "num_spikes",
            "peak_deflection",
        )
        .order_by("sweep_number")
    )
    files = list(
        WellKnownFile.objects.filter(ephys_result__specimen__id=specimen_id).select_related("well_known_file_type")
    )
    held_nwb = next(
        (
            f
            for f in files
            if f.well_known_file_type_id == choices.NWB_DOWNLOAD[0] and filestore.has_well_known_file(f.id)
        ),
        None,
    )
    lab = LabRecording.objects.filter(specimen_id=specimen_id).first()
    return CellEphys(
        record=EphysFeature.objects.filter(specimen_id=specimen_id).first(),
        sweeps=sweeps,
        files=files,
        held_windows=list(HeldTraceWindow.objects.filter(specimen_id=specimen_id).order_by("sweep_number")),
        held_nwb=held_nwb,
        lab_recording=lab,
        lab_file_held=lab is not None and lab_file_matches(lab),
    )


def lab_file_matches(lab: LabRecording) -> bool:
    """Whether the store holds the lab recording's bytes as imported (size and sha256; hashed once per change)."""
    path = filestore.lab_recording_path(lab.specimen_id)
    try:
        return path.stat().st_size == lab.size and filestore.current_sha256(path) == lab.sha256
    except FileNotFoundError:
        return False


# --- curves from the sweep table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvePoint:
    amplitude: float  # pA
    value: float  # spikes/s (f-I) or mV (V-I)
    sweep_number: int


@dataclass(frozen=True)
class SweepTableCurves:
    """Allen's recorded values per Long Square sweep: the f-I curve (spike count over the step's duration) and the
    V-I curve (peak deflection of the sweeps without spikes). Sorted by amplitude.

    Some releases of a sweep table leave num_spikes null where there were none; Allen records a peak deflection
    only for a sweep without spikes, so a null count with a peak deflection counts as 0."""

    fi: list[CurvePoint]
    vi: list[CurvePoint]


def sweep_table_curves(sweeps: list[EphysSweep]) -> SweepTableCurves:
    fi, vi = [], []
    for s in sweeps:
        if s.stimulus_name != LONG_SQUARE or s.stimulus_absolute_amplitude is None:
            continue
        spikes = 0 if s.num_spikes is None and s.peak_deflection is not None else s.num_spikes
        if spikes is not None:
            duration = s.stimulus_duration if s.stimulus_duration and s.stimulus_duration > 0 else 1.0
            fi.append(CurvePoint(s.stimulus_absolute_amplitude, spikes / duration, s.sweep_number))
        if spikes == 0 and s.peak_deflection is not None:
            vi.append(CurvePoint(s.stimulus_absolute_amplitude, s.peak_deflection, s.sweep_number))
    order = lambda p: (p.amplitude, p.sweep_number)  # noqa: E731
    return SweepTableCurves(sorted(fi, key=order), sorted(vi, key=order))


# --- traces ------------------------------------------------------------------------------------------------------


def held_window_path(window: HeldTraceWindow) -> Path:
    return DEMO_DIR / window.source_path


def sweep_trace_get(
    *,
    specimen_id: int,
    sweep_number: int,
    start: float | None = None,
    end: float | None = None,
    points: int = DEFAULT_POINTS,
) -> dict:
    """The plot payload of one sweep over ``start``-``end`` (s on the sweep's clock), with its provenance.

    Raises SweepNotHeld when no samples are held, ValueError for a window outside the trace.
    """
    window = HeldTraceWindow.objects.filter(specimen_id=specimen_id, sweep_number=sweep_number).first()
    if window is not None:
        return _held_window_trace(window, start, end, points)
    ephys = cell_ephys_get(specimen_id=specimen_id)
    if ephys.held_nwb is None and not ephys.lab_file_held:
        raise SweepNotHeld(f"no recording of specimen {specimen_id} is held here")
    sweep = next((s for s in ephys.sweeps if s.sweep_number == sweep_number), None)
    if sweep is None:
        raise SweepNotHeld(f"specimen {specimen_id} has no sweep {sweep_number}")
    path, name = held_nwb_path(ephys)
    if ephys.lab_file_held:
        provenance = f"Sweep {sweep.sweep_number} of {name}, a lab's own recording uploaded here (not Allen's data)."
    else:
        provenance = f"Sweep {sweep.sweep_number} of {name}, the whole sweep as the NWB file holds it."
    return _nwb_trace(path, name, sweep, provenance, start, end, points)


@lru_cache(maxsize=TRACE_CACHE_SIZE)
def _analysed_window(path: str, stamp: tuple[int, int]) -> tuple[NpzSweep, CurrentClampAnalysis]:
    """A held window read and analysed once per process while its file (``stamp``: mtime, size) is unchanged,
    so zooming (a new window of the same trace) costs only the windowing and downsampling."""
    sweep = read_npz_sweep(path)
    analysis = analyse_current_clamp(
        sweep.v, sweep.i, sweep.sampling_rate, sweep.stimulus_start, sweep.stimulus_end, sweep.window_start
    )
    return sweep, analysis


def _held_window_trace(window: HeldTraceWindow, start, end, points: int) -> dict:
    path = held_window_path(window)
    try:
        stat = path.stat()
        sweep, analysis = _analysed_window(str(path), (stat.st_mtime_ns, stat.st_size))
    except (ScienceError, OSError) as exc:
        log.warning("held trace window %s unreadable: %s", window.pk, exc)
        raise SweepNotHeld(f"the held window of sweep {window.sweep_number} cannot be read: {exc}") from exc
    payload = current_clamp_view(
        sweep.v,
        sweep.i,
        sweep.sampling_rate,
        sweep.stimulus_start,
        sweep.stimulus_end,
        offset=sweep.window_start,
        start=start,
        end=end,
        points=points,
        analysis=analysis,
    )
    payload.update(
        sweep_number=window.sweep_number,
        stimulus_name=window.stimulus_name,
        stimulus_amplitude=round(window.stimulus_amplitude, 2),
        sampling_rate=window.sampling_rate,
        held_start=round(window.window_start, 6),
        held_end=round(window.window_end, 6),
        provenance=window.provenance,
        source="window",
    )
    return payload


def _nwb_trace(path: Path, name: str, sweep: EphysSweep, provenance: str, start, end, points: int) -> dict:
    from celltypes.science.nwb import read_sweep

    try:
        recorded = read_sweep(path, sweep.sweep_number, STIMULUS_ONTOLOGY)
        stimulus, response = np.asarray(recorded.stimulus), np.asarray(recorded.response)
    except ScienceError as exc:
        log.warning("NWB file %s, sweep %s unreadable: %s", path, sweep.sweep_number, exc)
        raise SweepNotHeld(f"sweep {sweep.sweep_number} of {name} cannot be read: {exc}") from exc
    rate = recorded.sampling_rate
    if recorded.stimulus_units == VOLTAGE_CLAMP_UNITS:
        payload = voltage_clamp_view(stimulus * 1e3, response * 1e12, rate, start=start, end=end, points=points)
    else:
        arrays = clamp_arrays(recorded)
        payload = current_clamp_view(
            arrays.v, arrays.i, rate, arrays.stimulus_start, arrays.stimulus_end, start=start, end=end, points=points
        )
    payload.update(
        sweep_number=sweep.sweep_number,
        stimulus_name=sweep.stimulus_name,
        stimulus_amplitude=sweep.stimulus_absolute_amplitude,
        sampling_rate=rate,
        held_start=0.0,
        held_end=round(recorded.num_samples / rate, 6),
        provenance=provenance,
        source="nwb",
    )
    return payload


def held_nwb_path(ephys: CellEphys) -> tuple[Path, str] | None:
    """(path, file name) of the NWB file whose sweeps are drawn: a lab's upload, else Allen's file held here."""
    if ephys.lab_file_held:
        return filestore.lab_recording_path(ephys.lab_recording.specimen_id), ephys.lab_recording.file_name
    if ephys.held_nwb is not None:
        return filestore.well_known_file_path(ephys.held_nwb.id), ephys.held_nwb.file_name
    return None


def current_clamp_samples(ephys: CellEphys, sweep_number: int) -> ClampArrays:
    """The held samples of a current-clamp sweep (a held window: on the window's own clock). Raises SweepNotHeld."""
    from celltypes.science.nwb import read_sweep

    window = next((w for w in ephys.held_windows if w.sweep_number == sweep_number), None)
    try:
        if window is not None:
            held = read_npz_sweep(held_window_path(window))
            return ClampArrays(held.v, held.i, held.sampling_rate, held.stimulus_start, held.stimulus_end)
        found = held_nwb_path(ephys)
        if found is None or sweep_number not in ephys.held_sweep_numbers:
            raise SweepNotHeld(f"no samples of sweep {sweep_number} are held here")
        recorded = read_sweep(found[0], sweep_number, STIMULUS_ONTOLOGY)
        if recorded.stimulus_units == VOLTAGE_CLAMP_UNITS:
            raise SweepNotHeld(f"sweep {sweep_number} is a voltage-clamp sweep")
        return clamp_arrays(recorded)
    except (ScienceError, OSError) as exc:
        raise SweepNotHeld(f"sweep {sweep_number} cannot be read: {exc}") from exc


@dataclass(frozen=True)
class ComputedSweep:
    """Features we computed from a held window: its sweep features and its first spike's (None: not defined;
    spike times on the sweep's clock)."""

    window: HeldTraceWindow
    sweep: dict[str, float | None]
    first_spike: dict[str, float | None]


def held_window_features(window: HeldTraceWindow) -> ComputedSweep | None:
    """The window's features (None when its file cannot be read: the page says so and the rest still works),
    from the same per-process analysis the sweep JSON uses."""
    path = held_window_path(window)
    try:
        stat = path.stat()
        _, analysis = _analysed_window(str(path), (stat.st_mtime_ns, stat.st_size))
    except (ScienceError, OSError) as exc:
        log.warning("held trace window %s unreadable: %s", window.pk, exc)
        return None
    sweep = {row["name"]: row["value"] for row in analysis.sweep_features}
    first = dict(analysis.spikes[0]) if analysis.spikes else {}
    return ComputedSweep(window=window, sweep=sweep, first_spike=first)


def sweeps() -> QuerySet[EphysSweep]:
    """Every sweep record of Allen's (the REST API pages and filters it), by specimen and sweep number; a lab's
    own uploads are not Allen's data and are not listed."""
    return EphysSweep.objects.exclude(specimen__lab_recording__isnull=False).order_by("specimen_id", "sweep_number")


def ephys_features() -> QuerySet[EphysFeature]:
    """Every cell's EphysFeature record (Allen's 56 columns)."""
    return EphysFeature.objects.order_by("specimen_id")
