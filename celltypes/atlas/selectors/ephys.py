"""Reads of a cell's electrophysiology: Allen's EphysFeature record, the sweep table, the recordings we hold.

A recording is held two ways: a HeldTraceWindow (a window of one sweep kept outside any NWB file, ours and
never Allen's record; read from the bundled demo folder) or the cell's NWB file in the file store (the demo
set's raw MIES recordings, or one fetched from the upstream). :func:`sweep_trace_get` draws either; a voltage-
clamp sweep is drawn as command and current, never searched for spikes. Nothing here writes.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from django.db.models import QuerySet

from celltypes.atlas import choices, filestore
from celltypes.atlas.bundled import DEMO_DIR, STIMULUS_ONTOLOGY
from celltypes.atlas.models import EphysFeature, EphysSweep, HeldTraceWindow, LabRecording, WellKnownFile
from celltypes.atlas.vocabulary import LAB_RECORDING_PROVENANCE, LONG_SQUARE, VOLTAGE_CLAMP_UNITS
from celltypes.science.ephys.downsample import DEFAULT_POINTS
from celltypes.science.ephys.npz_sweeps import NpzSweep, read_npz_sweep
from celltypes.science.ephys.nwb_sweeps import ClampArrays, clamp_arrays
from celltypes.science.ephys.trace_view import (
    INLINE_ANALYSIS_SAMPLES,
    CurrentClampAnalysis,
    analyse_current_clamp,
    analysis_payload,
    current_clamp_view,
    voltage_clamp_view,
)
from celltypes.science.errors import ScienceError

log = logging.getLogger(__name__)
TRACE_CACHE_SIZE = 16  # held windows (about 1.2 MB each) and analyses (a few kB) kept per process
NWB_CACHE_SIZE = 4  # NWB sweeps kept per process (a 10 s sweep at 200 kHz: 32 MB)


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
    specimen_id: int | None = None

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
        specimen_id=specimen_id,
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


@dataclass(frozen=True, eq=False)
class HeldTrace:
    """One held sweep's samples as the plots take them, the key its analysis is cached under, and its provenance."""

    key: tuple
    current_clamp: ClampArrays | None  # v mV, i pA (a held window: on the window's own clock)
    voltage_clamp: tuple[np.ndarray, np.ndarray, float] | None  # command mV, current pA, Hz
    offset: float  # s from the sweep's first sample to the trace's
    meta: dict


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=TRACE_CACHE_SIZE)
def _window_samples(path: str, stamp: tuple[int, int]) -> NpzSweep:
    """A held window read once per process while its file (``stamp``: mtime, size) is unchanged."""
    return read_npz_sweep(path)


@lru_cache(maxsize=NWB_CACHE_SIZE)
def _nwb_samples(path: str, sweep_number: int, stamp: tuple[int, int]) -> tuple[ClampArrays | None, tuple | None]:
    """One NWB sweep read once per process while its file is unchanged: (current clamp, voltage clamp)."""
    from celltypes.science.nwb import read_sweep

    recorded = read_sweep(path, sweep_number, STIMULUS_ONTOLOGY)
    if recorded.stimulus_units == VOLTAGE_CLAMP_UNITS:
        command, current = np.asarray(recorded.stimulus) * 1e3, np.asarray(recorded.response) * 1e12
        return None, (command, current, recorded.sampling_rate)
    return clamp_arrays(recorded), None


class _Analyses:
    """Analysed traces by key, the TRACE_CACHE_SIZE most recent per process (an analysis is a few kB)."""

    def __init__(self) -> None:
        self.held: OrderedDict[tuple, CurrentClampAnalysis] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> CurrentClampAnalysis | None:
        with self.lock:
            if key in self.held:
                self.held.move_to_end(key)
            return self.held.get(key)

    def of(self, trace: HeldTrace) -> CurrentClampAnalysis:
        """The trace's analysis, found now when not held."""
        known = self.get(trace.key)
        if known is not None:
            return known
        a = trace.current_clamp
        found = analyse_current_clamp(a.v, a.i, a.sampling_rate, a.stimulus_start, a.stimulus_end, trace.offset)
        with self.lock:
            self.held[trace.key] = found
            while len(self.held) > TRACE_CACHE_SIZE:
                self.held.popitem(last=False)
        return found


_ANALYSES = _Analyses()


def _window_trace(window: HeldTraceWindow) -> HeldTrace:
    path = held_window_path(window)
    try:
        stamp = _stamp(path)
        sweep = _window_samples(str(path), stamp)
    except (ScienceError, OSError) as exc:
        log.warning("held trace window %s unreadable: %s", window.pk, exc)
        raise SweepNotHeld(f"the held window of sweep {window.sweep_number} cannot be read: {exc}") from exc
    arrays = ClampArrays(sweep.v, sweep.i, sweep.sampling_rate, sweep.stimulus_start, sweep.stimulus_end)
    meta = {
        "sweep_number": window.sweep_number,
        "stimulus_name": window.stimulus_name,
        "stimulus_amplitude": round(window.stimulus_amplitude, 2),
        "sampling_rate": window.sampling_rate,
        "held_start": round(window.window_start, 6),
        "held_end": round(window.window_end, 6),
        "provenance": window.provenance,
        "source": "window",
    }
    return HeldTrace(("window", str(path), stamp), arrays, None, sweep.window_start, meta)


def _nwb_trace(ephys: CellEphys, sweep_number: int) -> HeldTrace:
    found = held_nwb_path(ephys)
    if found is None:
        raise SweepNotHeld(f"no recording of specimen {ephys.specimen_id} is held here")
    sweep = next((s for s in ephys.sweeps if s.sweep_number == sweep_number), None)
    if sweep is None:
        raise SweepNotHeld(f"specimen {ephys.specimen_id} has no sweep {sweep_number}")
    path, name = found
    try:
        stamp = _stamp(path)
        current, voltage = _nwb_samples(str(path), sweep_number, stamp)
    except (ScienceError, OSError) as exc:
        log.warning("NWB file %s, sweep %s unreadable: %s", path, sweep_number, exc)
        raise SweepNotHeld(f"sweep {sweep_number} of {name} cannot be read: {exc}") from exc
    if ephys.lab_file_held:
        provenance = f"Sweep {sweep_number} of {name}, {LAB_RECORDING_PROVENANCE}."
    else:
        provenance = f"Sweep {sweep_number} of {name}, the whole sweep as the NWB file holds it."
    rate = current.sampling_rate if current is not None else voltage[2]
    samples = len(current.v) if current is not None else len(voltage[1])
    meta = {
        "sweep_number": sweep_number,
        "stimulus_name": sweep.stimulus_name,
        "stimulus_amplitude": sweep.stimulus_absolute_amplitude,
        "sampling_rate": rate,
        "held_start": 0.0,
        "held_end": round(samples / rate, 6),
        "provenance": provenance,
        "source": "nwb",
    }
    return HeldTrace(("nwb", str(path), sweep_number, stamp), current, voltage, 0.0, meta)


def _held_trace(specimen_id: int, sweep_number: int) -> HeldTrace:
    """The held samples of one sweep: a held window (one query), else the cell's NWB file. Raises SweepNotHeld."""
    window = HeldTraceWindow.objects.filter(specimen_id=specimen_id, sweep_number=sweep_number).first()
    if window is not None:
        return _window_trace(window)
    return _nwb_trace(cell_ephys_get(specimen_id=specimen_id), sweep_number)


def sweep_trace_get(
    *,
    specimen_id: int,
    sweep_number: int,
    start: float | None = None,
    end: float | None = None,
    points: int = DEFAULT_POINTS,
) -> dict:
    """The plot payload of one sweep over ``start``-``end`` (s on the sweep's clock), with its provenance.

    A current-clamp trace's spikes and sweep features come with it when they are known (this process analysed the
    trace already) or quick to find (at most INLINE_ANALYSIS_SAMPLES); otherwise ``"analysis": "to follow"`` and
    :func:`sweep_analysis_get` finds them, so the first paint of a long sweep never waits on spike detection.
    Raises SweepNotHeld when no samples are held, ValueError for a window outside the trace.
    """
    trace = _held_trace(specimen_id, sweep_number)
    if trace.voltage_clamp is not None:
        command, current, rate = trace.voltage_clamp
        payload = voltage_clamp_view(command, current, rate, start=start, end=end, points=points)
    else:
        a = trace.current_clamp
        analysis = _ANALYSES.get(trace.key)
        if analysis is None and len(a.v) <= INLINE_ANALYSIS_SAMPLES:
            analysis = _ANALYSES.of(trace)
        payload = current_clamp_view(
            a.v, a.i, a.sampling_rate, a.stimulus_start, a.stimulus_end, offset=trace.offset,
            start=start, end=end, points=points, analysis=analysis, analyse=False,
        )  # fmt: skip
        payload["analysis"] = "included" if analysis is not None else "to follow"
    payload.update(trace.meta)
    return payload


def sweep_analysis_get(*, specimen_id: int, sweep_number: int) -> dict:
    """The spikes, spike table columns and sweep features of a current-clamp sweep (the follow-up of a first paint).
    Raises SweepNotHeld, or ValueError for a voltage-clamp sweep (never searched for spikes)."""
    trace = _held_trace(specimen_id, sweep_number)
    if trace.current_clamp is None:
        raise ValueError(f"sweep {sweep_number} is a voltage-clamp sweep: spikes are never searched for in it")
    return {"sweep_number": sweep_number, **analysis_payload(_ANALYSES.of(trace))}


def held_nwb_path(ephys: CellEphys) -> tuple[Path, str] | None:
    """(path, file name) of the NWB file whose sweeps are drawn: a lab's upload, else Allen's file held here."""
    if ephys.lab_file_held:
        return filestore.lab_recording_path(ephys.lab_recording.specimen_id), ephys.lab_recording.file_name
    if ephys.held_nwb is not None:
        return filestore.well_known_file_path(ephys.held_nwb.id), ephys.held_nwb.file_name
    return None


def current_clamp_samples(ephys: CellEphys, sweep_number: int) -> ClampArrays:
    """The held samples of a current-clamp sweep (a held window: on the window's own clock). Raises SweepNotHeld."""
    window = next((w for w in ephys.held_windows if w.sweep_number == sweep_number), None)
    trace = _window_trace(window) if window is not None else _nwb_trace(ephys, sweep_number)
    if trace.current_clamp is None:
        raise SweepNotHeld(f"sweep {sweep_number} is a voltage-clamp sweep")
    return trace.current_clamp


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
    try:
        analysis = _ANALYSES.of(_window_trace(window))
    except SweepNotHeld:
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
