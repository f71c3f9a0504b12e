"""Spike times of a simulated trace, found the way Allen's runner finds them.

The runner (``allensdk.model.biophysical.runner.save_nwb``) runs the AllenSDK's sweep feature extractor on
the simulated trace and stores each spike's *threshold* time. The steps kept here, as in
``allensdk.ephys.ephys_features``:

1. putative spikes: dV/dt rising through 20 mV/ms; a crossing counts only if dV/dt went below zero since the
   previous crossing;
2. each one's peak is the highest V before the next; an event is dropped when dV/dt never went negative
   between its peak and the next spike, when its peak is below -30 mV, or when it rises less than 2 mV;
   spikes whose threshold comes at or before the previous peak are merged into it;
3. the upstroke is the steepest dV/dt between spike and peak; the threshold is the last sample before the
   upstroke at which dV/dt is at most 5 % of the mean upstroke of all spikes.

Left out: the extractor's 10 kHz Bessel filter on dV/dt (it needs scipy; a simulated trace has no noise,
and the filter moves a threshold by a fraction of a sample interval), and its re-search of a threshold that
comes more than 5 ms before its peak (not seen in the models' spikes).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

DV_CUTOFF = 20.0  # mV/ms
MIN_PEAK = -30.0  # mV
MIN_HEIGHT = 2.0  # mV
THRESHOLD_FRACTION = 0.05


def dvdt(t: NDArray, v: NDArray) -> NDArray[np.float64]:
    """dV/dt in mV/ms (= V/s) between consecutive samples; ``t`` in s, ``v`` in mV."""
    return 1e-3 * np.diff(v) / np.diff(t)


def putative_spike_indexes(t: NDArray, v: NDArray) -> NDArray[np.int64]:
    """Step 1: indexes where dV/dt rises through DV_CUTOFF, each after dV/dt went negative."""
    slope = dvdt(t, v)
    crossings = np.flatnonzero(np.diff((slope >= DV_CUTOFF).astype(int)) == 1)
    if crossings.size <= 1:
        return crossings
    pairs = itertools.pairwise(crossings)
    keep = [True] + [bool(np.any(slope[before:after] < 0)) for before, after in pairs]
    return crossings[np.array(keep)]


def spike_threshold_indexes(t: NDArray, v: NDArray) -> NDArray[np.int64]:
    """Indexes of the spikes' thresholds (steps 1-3); ``t`` in s, ``v`` in mV."""
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError("t and v must be 1-d arrays of the same length")
    slope = dvdt(t, v)
    spikes = putative_spike_indexes(t, v)
    if spikes.size == 0:
        return spikes
    ends = np.append(spikes[1:], t.size - 1)
    peaks = np.array([spike + np.argmax(v[spike:end]) for spike, end in zip(spikes, ends, strict=True)])
    falls = [bool(np.any(slope[peak:spike] < 0)) for peak, spike in zip(peaks[:-1], spikes[1:], strict=True)]
    peaks = peaks[np.array(falls + [True])]
    spikes = spikes[np.array([True] + falls)]
    real = (v[peaks] >= MIN_PEAK) & (v[peaks] - v[spikes] >= MIN_HEIGHT)
    spikes, peaks = spikes[real], peaks[real]
    if spikes.size == 0:
        return spikes
    upstrokes = np.array([spike + np.argmax(slope[spike:peak]) for spike, peak in zip(spikes, peaks, strict=True)])
    target = THRESHOLD_FRACTION * slope[upstrokes].mean()
    thresholds = []
    for upstroke, previous in zip(upstrokes, np.append(0, upstrokes[:-1]), strict=True):
        below = np.flatnonzero(slope[upstroke:previous:-1] <= target)
        thresholds.append(upstroke - below[0] if below.size else previous)
    thresholds = np.array(thresholds, dtype=np.int64)
    overlapping = np.flatnonzero(thresholds[1:] <= peaks[:-1] + 1) + 1
    return np.delete(thresholds, overlapping)


def spike_times(t: NDArray, v: NDArray) -> NDArray[np.float64]:
    """Threshold times of the spikes, s (what the runner stores as a sweep's spike times)."""
    return np.asarray(t, dtype=np.float64)[spike_threshold_indexes(t, v)]
