"""Downsampled traces for plotting: a few thousand points that keep the trace's shape and every spike peak.

The selection is tsdownsample's MinMaxLTTB (compiled; min-max preselection, then largest-triangle-three-
buckets), which keeps extremes, and the indexes in ``keep`` (the spike peaks) are always added, so a spike
never loses its top however many share a bucket. Times in s, voltages in mV.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from tsdownsample import MinMaxLTTBDownsampler

DEFAULT_POINTS = 4000
MAX_POINTS = 100_000  # a plot never needs more; bounds the payload
_DOWNSAMPLER = MinMaxLTTBDownsampler()


def downsample_indexes(
    v: NDArray[np.float64], n_out: int = DEFAULT_POINTS, keep: Sequence[int] | NDArray[np.int64] = ()
) -> NDArray[np.int64]:
    """Sorted indexes of about ``n_out`` samples of the uniformly sampled ``v``, plus every index in ``keep``."""
    if not 3 <= n_out <= MAX_POINTS:
        raise ValueError(f"n_out must lie between 3 and {MAX_POINTS} (got {n_out})")
    v = np.ascontiguousarray(v, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"v must be 1-D (got shape {v.shape})")
    keep = np.asarray(keep, dtype=np.int64)
    if len(keep) and (keep.min() < 0 or keep.max() >= len(v)):
        raise ValueError("indexes to keep must lie inside the trace")
    if len(v) <= n_out:
        return np.arange(len(v), dtype=np.int64)
    chosen = _DOWNSAMPLER.downsample(v, n_out=n_out).astype(np.int64)
    return np.union1d(chosen, keep) if len(keep) else chosen


def trace_payload(
    t: NDArray[np.float64],
    v: NDArray[np.float64],
    indexes: NDArray[np.int64],
    time_decimals: int = 6,
    voltage_decimals: int = 3,
) -> dict[str, list[float]]:
    """{"t": [s], "v": [mV]} at ``indexes``, rounded (1 µs, 1 µV by default) for a compact JSON body."""
    return {
        "t": np.round(t[indexes], time_decimals).tolist(),
        "v": np.round(v[indexes], voltage_decimals).tolist(),
    }
