"""What a sweep plot draws: a window of a trace, downsampled (every spike landmark kept) or at full resolution,
with the spikes found in the sweep and their features.

Times in the payload are s after the sweep's first sample (``offset`` shifts a window's own clock onto the
sweep's); voltages mV, currents pA. Spikes are detected on the whole held trace (between the stimulus start and
end), never on the plotted points, so zooming never changes them.

First paint: a trace of more than ``INLINE_ANALYSIS_SAMPLES`` is sent before its spikes are found (detection
filters the whole trace, ~150 ms for 2,000,000 samples): :func:`current_clamp_view` with ``analyse=False`` keeps
the stimulus edges and the top of every 0.5 ms reaching ipfx's lowest spike peak (:func:`downsample_keeping_tops`:
every spike peak among them) and sends
``"spikes": None``; the spikes, their table and the sweep features follow from :func:`analysis_payload`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .downsample import DEFAULT_POINTS, downsample_indexes, downsample_keeping_tops
from .spikes import DEFAULT_PARAMETERS, SPIKE_FEATURES
from .sweep_features import SWEEP_FEATURES, CurrentClampSweep
from .voltage_clamp import first_test_pulse

# A window with at most this many samples is sent whole; a wider one is downsampled to ``points``.
MAX_FULL_RESOLUTION = 20_000
# The spike features the page's per-spike table shows, in order.
SPIKE_TABLE = (
    "threshold_t",
    "threshold_v",
    "peak_t",
    "peak_v",
    "fast_trough_t",
    "fast_trough_v",
    "upstroke",
    "downstroke",
    "upstroke_downstroke_ratio",
    "width",
)
INLINE_ANALYSIS_SAMPLES = 250_000  # a trace this long is analysed within its first paint (~20 ms), longer ones after
SAMPLE_TOLERANCE = 1e-6  # of a sample: a time that falls on a sample up to float error counts as that sample
MAX_STIMULUS_EDGES = 1000  # step edges of the stimulus kept in a downsampled trace (a noise stimulus has more)


@dataclass(frozen=True)
class Window:
    """The sample range [first, stop) drawn, and whether it is every sample."""

    first: int
    stop: int
    full_resolution: bool


def window_of(n: int, rate: float, offset: float, start: float | None, end: float | None) -> Window:
    """The samples between ``start`` and ``end`` (s on the sweep clock; None: the trace's own bounds)."""
    first = 0 if start is None else int(math.floor((start - offset) * rate + SAMPLE_TOLERANCE))
    stop = n if end is None else int(math.ceil((end - offset) * rate - SAMPLE_TOLERANCE)) + 1
    first, stop = max(0, min(first, n)), max(0, min(stop, n))
    if stop - first < 2:
        raise ValueError(f"the window {start}-{end} s holds fewer than two samples of the trace")
    return Window(first, stop, stop - first <= MAX_FULL_RESOLUTION)


def _chosen(values: NDArray[np.float64], window: Window, points: int, keep: NDArray[np.int64]) -> NDArray[np.int64]:
    if window.full_resolution:
        return np.arange(window.first, window.stop)
    inside = keep[(keep >= window.first) & (keep < window.stop)] - window.first
    return downsample_indexes(values[window.first : window.stop], points, inside) + window.first


def _rounded(values: NDArray[np.float64], decimals: int) -> list[float | None]:
    return [None if not math.isfinite(x) else x for x in np.round(values, decimals).tolist()]


def _value(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _stimulus_edges(i: NDArray[np.float64]) -> NDArray[np.int64]:
    edges = np.flatnonzero(i[1:] != i[:-1])
    if len(edges) > MAX_STIMULUS_EDGES:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([edges, edges + 1]).astype(np.int64)


@dataclass(frozen=True)
class CurrentClampAnalysis:
    """What a current-clamp trace's plots need beyond its samples, found once per trace (a zoom reuses it):
    its spike table and sweep features (JSON-ready, times on the sweep's clock) and the samples to keep."""

    spikes: list[dict[str, float | None]]
    sweep_features: list[dict]
    landmarks: NDArray[np.int64]  # spike thresholds, peaks, fast troughs and stimulus edges


def analyse_current_clamp(
    v: NDArray[np.float64],
    i: NDArray[np.float64],
    rate: float,
    stimulus_start: float,
    stimulus_end: float,
    offset: float = 0.0,
) -> CurrentClampAnalysis:
    """Spikes (between ``stimulus_start`` and ``stimulus_end``, s on the trace's own clock) and sweep features."""
    t = np.arange(len(v)) / rate
    sweep = CurrentClampSweep(t, v, i, stimulus_start, stimulus_end)
    spikes = sweep.spikes
    landmarks = np.concatenate(
        [spikes.threshold_index, spikes.peak_index, spikes.fast_trough_index, _stimulus_edges(i)]
    )
    values = spikes.features()
    table = [{name: _value(values[name][k]) for name in SPIKE_TABLE} for k in range(len(spikes))]
    for row in table:  # spike times on the sweep clock
        for name in ("threshold_t", "peak_t", "fast_trough_t"):
            if row[name] is not None:
                row[name] = round(row[name] + offset, 6)
    features = sweep.features()
    return CurrentClampAnalysis(
        spikes=table,
        sweep_features=[
            {"name": name, "label": f.label, "unit": f.unit, "value": _value(features[name])}
            for name, f in SWEEP_FEATURES.items()
        ],
        landmarks=np.unique(landmarks[landmarks >= 0]).astype(np.int64),
    )


def current_clamp_view(
    v: NDArray[np.float64],
    i: NDArray[np.float64],
    rate: float,
    stimulus_start: float,
    stimulus_end: float,
    *,
    offset: float = 0.0,
    start: float | None = None,
    end: float | None = None,
    points: int = DEFAULT_POINTS,
    analysis: CurrentClampAnalysis | None = None,
    analyse: bool = True,
) -> dict:
    """Payload of a current-clamp trace: t, v, i at the chosen samples, its spikes and sweep features.
    ``stimulus_start``/``stimulus_end`` are s on the trace's own clock (its first sample is 0); pass the trace's
    ``analysis`` when it is at hand (it is found here otherwise, unless ``analyse`` is False: then the payload
    keeps the peak candidates and stimulus edges and its spikes and sweep features are None, to follow)."""
    if analysis is None and analyse:
        analysis = analyse_current_clamp(v, i, rate, stimulus_start, stimulus_end, offset)
    window = window_of(len(v), rate, offset, start, end)
    if analysis is not None:
        chosen = _chosen(v, window, points, analysis.landmarks)
    elif window.full_resolution:
        chosen = np.arange(window.first, window.stop)
    else:
        edges = _stimulus_edges(i[window.first : window.stop])
        values = v[window.first : window.stop]
        chosen = downsample_keeping_tops(values, rate, points, DEFAULT_PARAMETERS.min_peak, edges) + window.first
    return {
        "clamp": "current",
        "full_resolution": window.full_resolution,
        "samples": window.stop - window.first,
        "t": _rounded(chosen / rate + offset, 6),
        "response": _rounded(v[chosen], 3),
        "stimulus": _rounded(i[chosen], 2),
        "response_unit": "mV",
        "stimulus_unit": "pA",
        **analysis_payload(analysis),
    }


def analysis_payload(analysis: CurrentClampAnalysis | None) -> dict:
    """The spikes, the per-spike table's columns and the sweep features of a trace (None: not found yet)."""
    return {
        "spikes": analysis.spikes if analysis is not None else None,
        "spike_columns": [
            {"name": name, "label": SPIKE_FEATURES[name].label, "unit": SPIKE_FEATURES[name].unit}
            for name in SPIKE_TABLE
        ],
        "sweep_features": analysis.sweep_features if analysis is not None else None,
    }


def voltage_clamp_view(
    command: NDArray[np.float64],
    current: NDArray[np.float64],
    rate: float,
    *,
    start: float | None = None,
    end: float | None = None,
    points: int = DEFAULT_POINTS,
) -> dict:
    """Payload of a voltage-clamp trace (command in mV, current in pA) with its first test pulse; no spikes."""
    recorded = np.flatnonzero(np.isfinite(current))
    n = int(recorded[-1]) + 1 if len(recorded) else 0
    command, current = command[:n], current[:n]
    t = np.arange(n) / rate
    window = window_of(n, rate, 0.0, start, end)
    edges = np.flatnonzero(np.diff(command))
    keep = np.concatenate([edges, edges + 1]) if len(edges) <= MAX_STIMULUS_EDGES else np.zeros(0, np.int64)
    chosen = _chosen(current, window, points, keep.astype(np.int64))
    pulse = first_test_pulse(t, command, current)
    test_pulse = None
    if pulse is not None:
        test_pulse = {
            "start": round(pulse.start, 6),
            "end": round(pulse.end, 6),
            "amplitude": pulse.amplitude,
            "baseline_current": round(pulse.baseline_current, 2),
            "steady_current": round(pulse.steady_current, 2),
            "peak_current": round(pulse.peak_current, 2),
            "baseline_noise": round(pulse.baseline_noise, 2),
            "steady_resolved": pulse.steady_resolved,
            "steady_resistance": _value(round(pulse.steady_resistance, 2)) if pulse.steady_resolved else None,
            "peak_resistance": _value(round(pulse.peak_resistance, 2)),
        }
    return {
        "clamp": "voltage",
        "full_resolution": window.full_resolution,
        "samples": window.stop - window.first,
        "t": _rounded(chosen / rate, 6),
        "response": _rounded(current[chosen], 2),
        "stimulus": _rounded(command[chosen], 3),
        "response_unit": "pA",
        "stimulus_unit": "mV",
        "spikes": None,
        "test_pulse": test_pulse,
    }
