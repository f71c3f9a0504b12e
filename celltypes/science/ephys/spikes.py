"""Action potentials of a current-clamp sweep: detection, then features of each spike.

Definitions and default parameters are those of Allen's ipfx (``SpikeFeatureExtractor``), written anew
here: a spike starts where the 10 kHz Bessel-filtered dV/dt crosses 20 mV/ms; its peak is the highest
voltage before the next crossing; its threshold is the last sample before the steepest upstroke where
dV/dt is at most 5 % of the sweep's mean upstroke; overlapping and too slow (>= 5 ms threshold to peak)
events are merged or re-measured; the fast trough ends the spike where dV/dt recovers to 1 % of the
downstroke; an afterdepolarisation (ADP) is looked for with a 1 kHz filter; the width is the full width at
half height (threshold-to-peak half height when the trough lies above threshold).

Units: t in s, v in mV, i in pA, dV/dt in mV/ms; widths are reported in ms. A spike index of -1 means
"not defined" (e.g. the trough of a spike clipped by the end of the window); its features are nan.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from .registry import Feature, registrar
from .timeseries import BesselLowpass, check_time, time_index

NONE = -1  # an undefined spike index
DIRECT, DETOUR = "direct", "detour"


@dataclass(frozen=True, kw_only=True)
class SpikeParameters:
    """ipfx's defaults. Times in s, voltages in mV, rates in mV/ms, filters in kHz."""

    filter_khz: float | None = 10.0  # Bessel low-pass before dV/dt (None: raw dV/dt)
    dv_cutoff: float = 20.0  # dV/dt that starts a putative spike
    max_interval: float = 0.005  # longest threshold-to-peak time
    min_height: float = 2.0  # smallest threshold-to-peak height
    min_peak: float = -30.0  # lowest peak
    thresh_frac: float = 0.05  # threshold: this fraction of the mean upstroke
    reject_at_stim_start_interval: float = 0.0  # drop spikes this soon after ``start``
    clip_tol: float = 1.0  # the last spike must fall back to threshold + this, else it is clipped
    heavy_filter_khz: float = 1.0  # Bessel low-pass for the ADP search
    term_frac: float = 0.01  # fast trough: dV/dt back to this fraction of the downstroke
    adp_thresh: float = 0.5  # ADP: dV/dt (heavily filtered) rises to this
    adp_tol: float = 0.5  # ADP / detour: voltage then drops at least this much
    flat_interval: float = 0.002  # ADP must start within this of the fast trough
    adp_max_delta_t: float = 0.005
    adp_max_delta_v: float = 10.0


DEFAULT_PARAMETERS = SpikeParameters()


@dataclass(frozen=True, eq=False)
class Spikes:
    """The spikes of one sweep: sample indexes of each landmark (int64, -1 = undefined) and the arrays."""

    t: NDArray[np.float64]
    v: NDArray[np.float64]
    i: NDArray[np.float64] | None
    dvdt: NDArray[np.float64] = field(repr=False)
    threshold_index: NDArray[np.int64]
    peak_index: NDArray[np.int64]
    upstroke_index: NDArray[np.int64]
    trough_index: NDArray[np.int64]
    downstroke_index: NDArray[np.int64]
    fast_trough_index: NDArray[np.int64]
    adp_index: NDArray[np.int64]
    slow_trough_index: NDArray[np.int64]
    width: NDArray[np.float64]  # s (nan where undefined)
    clipped: NDArray[np.bool_]
    isi_type: tuple[str, ...]  # "direct", "detour", or "" (undefined)

    def __len__(self) -> int:
        return len(self.threshold_index)

    @cached_property
    def threshold_t(self) -> NDArray[np.float64]:
        return self.t[self.threshold_index]

    def at(self, values: NDArray[np.float64] | None, index: NDArray[np.int64]) -> NDArray[np.float64]:
        """``values[index]`` as float64, nan where the index is undefined (or ``values`` is None)."""
        out = np.full(len(index), np.nan)
        if values is not None:
            ok = index >= 0
            out[ok] = values[index[ok]]
        return out

    def features(self) -> dict[str, NDArray[np.float64]]:
        """Every registered spike feature, name -> one value per spike."""
        return {name: f(self) for name, f in SPIKE_FEATURES.items()}


def empty_spikes(t: NDArray[np.float64], v: NDArray[np.float64], i, dvdt) -> Spikes:
    none = np.zeros(0, dtype=np.int64)
    return Spikes(t, v, i, dvdt, *([none] * 8), np.zeros(0), np.zeros(0, dtype=bool), ())


def detect_spikes(
    t: NDArray[np.float64],
    v: NDArray[np.float64],
    i: NDArray[np.float64] | None = None,
    start: float | None = None,
    end: float | None = None,
    params: SpikeParameters = DEFAULT_PARAMETERS,
) -> Spikes:
    """Find the spikes of v (mV) over t (s) between ``start`` and ``end`` (s; default: the whole sweep)."""
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    dt = check_time(t, v)
    if i is not None:
        i = np.asarray(i, dtype=np.float64)
        if i.shape != v.shape:
            raise ValueError(f"i must have the shape of v (got {i.shape} and {v.shape})")
    if not np.all(np.isfinite(v)):
        raise ValueError("v holds NaN or infinite values")
    cutoffs = tuple(c * 1e3 for c in (params.filter_khz, params.heavy_filter_khz) if c)
    lowpass = BesselLowpass(v, 1.0 / dt, cutoffs) if cutoffs else None
    dt_steps = np.diff(t)
    dvdt = 1e-3 * np.diff(lowpass(params.filter_khz * 1e3) if params.filter_khz else v) / dt_steps

    start_index = time_index(t, t[0] if start is None else start)
    end_index = time_index(t, t[-1] if end is None else end)
    if end_index <= start_index:
        raise ValueError(f"the window ends ({end} s) before it starts ({start} s)")

    thresholds = _putative_spikes(dvdt, start_index, end_index, params.dv_cutoff)
    peaks = _peaks(v, thresholds, end_index)
    thresholds, peaks = _filter_putative(v, dvdt, thresholds, peaks, params)
    if not len(thresholds):
        return empty_spikes(t, v, i, dvdt)
    upstrokes = _upstrokes(dvdt, thresholds, peaks)
    thresholds = _refine_thresholds(dvdt, upstrokes, params.thresh_frac)
    thresholds, peaks, upstrokes = _check_thresholds_and_peaks(t, v, dvdt, thresholds, peaks, upstrokes, start, params)
    if not len(thresholds):
        return empty_spikes(t, v, i, dvdt)
    clipped = _clipped(v, thresholds, peaks, end_index, params.clip_tol)
    upstrokes = _upstrokes(dvdt, thresholds, peaks)
    troughs = _troughs(v, thresholds, peaks, clipped, end_index)
    downstrokes = _downstrokes(dvdt, peaks, troughs)
    # the heavily filtered dV/dt (ADP search) is only needed once there are spikes
    heavy = 1e-3 * np.diff(lowpass(params.heavy_filter_khz * 1e3) if params.heavy_filter_khz else v) / dt_steps
    details = _trough_details(t, v, dvdt, heavy, thresholds, peaks, clipped, end_index, params)
    fast_troughs, adps, slow_troughs, isi_types, clipped = details
    widths = _widths(t, v, thresholds, peaks, fast_troughs, clipped)
    return Spikes(
        t, v, i, dvdt, thresholds, peaks, upstrokes, troughs, downstrokes, fast_troughs, adps, slow_troughs,
        widths, clipped, isi_types,
    )  # fmt: skip


# ---- detection steps (ipfx spike_detector) --------------------------------------------------------------


def _putative_spikes(dvdt: NDArray, start_index: int, end_index: int, dv_cutoff: float) -> NDArray[np.int64]:
    """Samples just before each upward crossing of ``dv_cutoff``, keeping a crossing only if dV/dt went
    negative since the previous one."""
    window = dvdt[start_index:end_index]
    above = window >= dv_cutoff
    crossings = np.flatnonzero(~above[:-1] & above[1:])
    if len(crossings) > 1:
        dipped = _any_negative(window, crossings[:-1], crossings[1:])
        crossings = np.concatenate((crossings[:1], crossings[1:][dipped]))
    return crossings.astype(np.int64) + start_index


def _peaks(v: NDArray, thresholds: NDArray[np.int64], end_index: int) -> NDArray[np.int64]:
    """Highest sample from each spike's start up to the next spike's start (or the window's end)."""
    bounds = np.append(thresholds, end_index)
    return np.array([s + np.argmax(v[s:e]) for s, e in itertools.pairwise(bounds)], dtype=np.int64)


def _any_negative(dvdt: NDArray, starts: NDArray[np.int64], ends: NDArray[np.int64]) -> NDArray[np.bool_]:
    return np.array([bool(np.any(dvdt[s:e] < 0)) for s, e in zip(starts, ends, strict=True)], dtype=bool)


def _filter_putative(v, dvdt, thresholds, peaks, params: SpikeParameters):
    """Merge events whose dV/dt never went negative between them; drop low peaks and small heights."""
    if not len(thresholds):
        return thresholds, peaks
    apart = _any_negative(dvdt, peaks[:-1], thresholds[1:])
    peaks = peaks[np.append(apart, True)]
    thresholds = thresholds[np.insert(apart, 0, True)]
    keep = v[peaks] >= params.min_peak
    thresholds, peaks = thresholds[keep], peaks[keep]
    keep = (v[peaks] - v[thresholds]) >= params.min_height
    return thresholds[keep], peaks[keep]


def _upstrokes(dvdt: NDArray, thresholds: NDArray[np.int64], peaks: NDArray[np.int64]) -> NDArray[np.int64]:
    """Steepest dV/dt between threshold and peak."""
    return np.array([s + np.argmax(dvdt[s:p]) for s, p in zip(thresholds, peaks, strict=True)], dtype=np.int64)


def _last_at_or_below(values: NDArray, top: int, bottom: int, target: float) -> int:
    """Largest index in (bottom, top] with values <= target, or -1. Scans back in growing chunks."""
    hi = top + 1
    size = 64
    while hi > bottom + 1:
        lo = max(bottom + 1, hi - size)
        hits = np.flatnonzero(values[lo:hi] <= target)
        if len(hits):
            return lo + int(hits[-1])
        hi, size = lo, size * 4
    return NONE


def _refine_thresholds(dvdt: NDArray, upstrokes: NDArray[np.int64], thresh_frac: float) -> NDArray[np.int64]:
    """Last sample at or before each upstroke (after the previous upstroke) with dV/dt <= thresh_frac x the
    mean upstroke; the previous upstroke (or sample 0) when there is none."""
    target = dvdt[upstrokes].mean() * thresh_frac
    previous = np.insert(upstrokes[:-1], 0, 0)
    out = []
    for up, prev in zip(upstrokes, previous, strict=True):
        found = _last_at_or_below(dvdt, int(up), int(prev), target)
        out.append(prev if found == NONE else found)
    return np.array(out, dtype=np.int64)


def _check_thresholds_and_peaks(t, v, dvdt, thresholds, peaks, upstrokes, start, params: SpikeParameters):
    """Drop spikes right after ``start`` (if asked), merge overlapping spikes, and re-measure spikes whose
    peak comes ``max_interval`` or more after threshold (new threshold, else new peak, else drop)."""
    if start is not None and params.reject_at_stim_start_interval > 0:
        keep = t[thresholds] > start + params.reject_at_stim_start_interval
        thresholds, peaks, upstrokes = thresholds[keep], peaks[keep], upstrokes[keep]
    overlaps = np.flatnonzero(thresholds[1:] <= peaks[:-1] + 1)
    if len(overlaps):
        thresholds = np.delete(thresholds, overlaps + 1)
        peaks = np.delete(peaks, overlaps)
        upstrokes = np.delete(upstrokes, overlaps)
    thresholds, peaks = thresholds.copy(), peaks.copy()
    too_long = np.flatnonzero(t[peaks] - t[thresholds] >= params.max_interval)
    if not len(too_long):
        return thresholds, peaks, upstrokes
    target = dvdt[upstrokes].mean() * params.thresh_frac
    drop = []
    for k in too_long:
        earliest = time_index(t, t[peaks[k]] - params.max_interval)
        found = _last_at_or_below(dvdt, int(upstrokes[k]), earliest, target)
        if found != NONE:
            thresholds[k] = found
            continue
        spike = thresholds[k]
        stop = time_index(t, min(t[spike] + 2 * params.max_interval, t[-1]))
        new_peak = spike + int(np.argmax(v[spike:stop]))
        last = k == len(thresholds) - 1
        if t[new_peak] - t[spike] < params.max_interval and (last or t[new_peak] < t[thresholds[k + 1]]):
            peaks[k] = new_peak
        else:
            drop.append(k)
    if drop:
        thresholds, peaks, upstrokes = np.delete(thresholds, drop), np.delete(peaks, drop), np.delete(upstrokes, drop)
    return thresholds, peaks, upstrokes


def _clipped(v, thresholds, peaks, end_index: int, tol: float) -> NDArray[np.bool_]:
    """Only the last spike can be clipped: when v never falls back to its threshold + ``tol`` by the end."""
    clipped = np.zeros(len(thresholds), dtype=bool)
    if len(thresholds):
        tail = v[peaks[-1] : end_index + 1]
        clipped[-1] = not np.any(tail <= v[thresholds[-1]] + tol)
    return clipped


def _troughs(v, thresholds, peaks, clipped, end_index: int) -> NDArray[np.int64]:
    """Lowest sample between a peak and the next threshold (the window's end for the last spike)."""
    bounds = np.append(thresholds[1:], end_index)
    troughs = np.array([p + np.argmin(v[p:e]) if e > p else NONE for p, e in zip(peaks, bounds, strict=True)])
    troughs = troughs.astype(np.int64)
    troughs[clipped] = NONE
    return troughs


def _downstrokes(dvdt, peaks, troughs) -> NDArray[np.int64]:
    """Most negative dV/dt between peak and trough."""
    out = np.full(len(peaks), NONE, dtype=np.int64)
    for k, (p, tr) in enumerate(zip(peaks, troughs, strict=True)):
        if tr > p:
            out[k] = p + np.argmin(dvdt[p:tr])
    return out


def _first_at_or_above(values: NDArray, lo: int, hi: int, target: float, *, below: bool = False) -> int:
    """Smallest index in [lo, hi) with values >= target (``below``: <= target), or -1.

    Scans forward in growing chunks: the hit is usually a few samples away.
    """
    size = 64
    while lo < hi:
        stop = min(hi, lo + size)
        chunk = values[lo:stop]
        hits = np.flatnonzero(chunk <= target if below else chunk >= target)
        if len(hits):
            return lo + int(hits[0])
        lo, size = stop, size * 4
    return NONE


def _trough_details(t, v, dvdt, heavy, thresholds, peaks, clipped, end_index: int, params: SpikeParameters):
    """Fast trough, ADP, slow trough and reset type ("direct"/"detour") after each unclipped spike.

    A spike whose fast trough cannot be found becomes clipped. The ADP and slow trough of the last spike
    are left undefined (ipfx: unreliable there).
    """
    n = len(thresholds)
    fast = np.full(n, NONE, dtype=np.int64)
    adp = np.full(n, NONE, dtype=np.int64)
    slow = np.full(n, NONE, dtype=np.int64)
    types = [""] * n
    clipped = clipped.copy()
    valid = np.flatnonzero(~clipped)
    nexts = np.append(thresholds[valid][1:], end_index)
    for k, nxt in zip(valid, nexts, strict=True):
        peak = peaks[k]
        down = peak + int(np.argmin(dvdt[peak:nxt]))
        terminated = _first_at_or_above(dvdt, down, nxt, params.term_frac * dvdt[down])
        if terminated == NONE:
            clipped[k] = True
            continue
        fast[k] = terminated
        kind = DIRECT
        # only a crossing within flat_interval of the fast trough can start an ADP
        flat_end = min(nxt, terminated + int(params.flat_interval / (t[1] - t[0])) + 2)
        cross = _first_at_or_above(heavy, terminated, flat_end, params.adp_thresh)
        if cross != NONE and t[cross] - t[terminated] < params.flat_interval:
            back = _first_at_or_above(heavy, cross, nxt, 0.0, below=True)
            if back != NONE:
                lowest = back + int(np.argmin(v[back:nxt]))
                if (
                    v[back] - v[lowest] >= params.adp_tol
                    and v[back] - v[terminated] <= params.adp_max_delta_v
                    and t[back] - t[terminated] <= params.adp_max_delta_t
                ):
                    adp[k], slow[k], kind = back, lowest, DETOUR
        if kind == DIRECT:
            lowest = terminated + int(np.argmin(v[terminated:nxt]))
            if v[terminated] - v[lowest] >= params.adp_tol:
                slow[k], kind = lowest, DETOUR
        types[k] = kind
    adp[-1] = slow[-1] = NONE
    return fast, adp, slow, tuple(types), clipped


def _widths(t, v, thresholds, peaks, fast_troughs, clipped) -> NDArray[np.float64]:
    """Full width (s) at half the peak-to-fast-trough height, or at half the threshold-to-peak height when
    that level lies below threshold; crossings searched between threshold and fast trough (exclusive)."""
    widths = np.full(len(thresholds), np.nan)
    for k in np.flatnonzero((fast_troughs != NONE) & ~clipped):
        thr, peak, trough = thresholds[k], peaks[k], fast_troughs[k]
        level = (v[peak] - v[trough]) / 2.0 + v[trough]
        if level < v[thr]:
            level = (v[peak] - v[thr]) / 2.0 + v[thr]
        rise = np.flatnonzero(v[thr + 1 : peak + 1] <= level)
        fall = np.flatnonzero(v[peak:trough] <= level)
        if len(rise) and len(fall):
            widths[k] = t[peak + fall[0]] - t[thr + 1 + rise[-1]]
    return widths


# ---- features of each spike ------------------------------------------------------------------------------

SPIKE_FEATURES: dict[str, Feature] = {}
feature = registrar(SPIKE_FEATURES)


@feature("Threshold time", "s")
def threshold_t(s: Spikes) -> NDArray[np.float64]:
    """Time of the threshold sample."""
    return s.at(s.t, s.threshold_index)


@feature("Threshold", "mV")
def threshold_v(s: Spikes) -> NDArray[np.float64]:
    """Membrane potential at threshold."""
    return s.at(s.v, s.threshold_index)


@feature("Current at threshold", "pA")
def threshold_i(s: Spikes) -> NDArray[np.float64]:
    """Injected current at threshold (nan without a stimulus trace)."""
    return s.at(s.i, s.threshold_index)


@feature("Peak time", "s")
def peak_t(s: Spikes) -> NDArray[np.float64]:
    """Time of the peak."""
    return s.at(s.t, s.peak_index)


@feature("Peak", "mV")
def peak_v(s: Spikes) -> NDArray[np.float64]:
    """Highest membrane potential of the spike."""
    return s.at(s.v, s.peak_index)


@feature("Trough time", "s")
def trough_t(s: Spikes) -> NDArray[np.float64]:
    """Time of the lowest potential before the next spike."""
    return s.at(s.t, s.trough_index)


@feature("Trough", "mV")
def trough_v(s: Spikes) -> NDArray[np.float64]:
    """Lowest potential between the peak and the next threshold (or the window's end)."""
    return s.at(s.v, s.trough_index)


@feature("Fast trough time", "s")
def fast_trough_t(s: Spikes) -> NDArray[np.float64]:
    """Time the spike ends: dV/dt recovers to 1 % of the downstroke."""
    return s.at(s.t, s.fast_trough_index)


@feature("Fast trough", "mV")
def fast_trough_v(s: Spikes) -> NDArray[np.float64]:
    """Membrane potential where dV/dt recovers to 1 % of the downstroke."""
    return s.at(s.v, s.fast_trough_index)


@feature("ADP time", "s")
def adp_t(s: Spikes) -> NDArray[np.float64]:
    """Time of the afterdepolarisation's top (nan without an ADP)."""
    return s.at(s.t, s.adp_index)


@feature("ADP", "mV")
def adp_v(s: Spikes) -> NDArray[np.float64]:
    """Potential at the afterdepolarisation's top (nan without an ADP)."""
    return s.at(s.v, s.adp_index)


@feature("Slow trough time", "s")
def slow_trough_t(s: Spikes) -> NDArray[np.float64]:
    """Time of the slow trough of a detour reset (nan for a direct reset)."""
    return s.at(s.t, s.slow_trough_index)


@feature("Slow trough", "mV")
def slow_trough_v(s: Spikes) -> NDArray[np.float64]:
    """Lowest potential after the fast trough in a detour reset (nan for a direct reset)."""
    return s.at(s.v, s.slow_trough_index)


@feature("Upstroke", "mV/ms")
def upstroke(s: Spikes) -> NDArray[np.float64]:
    """Largest dV/dt between threshold and peak."""
    return s.at(s.dvdt, s.upstroke_index)


@feature("Downstroke", "mV/ms")
def downstroke(s: Spikes) -> NDArray[np.float64]:
    """Most negative dV/dt between peak and trough."""
    return s.at(s.dvdt, s.downstroke_index)


@feature("Upstroke/downstroke ratio", "")
def upstroke_downstroke_ratio(s: Spikes) -> NDArray[np.float64]:
    """Upstroke divided by minus the downstroke."""
    return upstroke(s) / -downstroke(s)


@feature("Width", "ms")
def width(s: Spikes) -> NDArray[np.float64]:
    """Full width at half height (peak to fast trough; threshold to peak if the trough is above threshold)."""
    return s.width * 1e3
