"""Downsampled traces for plotting: a few thousand points that keep the trace's shape and every spike peak.

The selection is tsdownsample's MinMaxLTTB (compiled; min-max preselection, then largest-triangle-three-
buckets), which keeps extremes, and the indexes in ``keep`` (the spike peaks) are always added, so a spike
never loses its top however many share a bucket. Times in s, voltages in mV.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from tsdownsample import LTTBDownsampler, MinMaxDownsampler, MinMaxLTTBDownsampler

DEFAULT_POINTS = 4000
MAX_POINTS = 100_000  # a plot never needs more; bounds the payload
TOP_BUCKET = 0.0005  # s: two spike peaks are never this close
MAX_TOPS = 5000  # bucket tops kept by downsample_keeping_tops (the highest, when more reach the floor)
_DOWNSAMPLER = MinMaxLTTBDownsampler()
_MINMAX = MinMaxDownsampler()
_LTTB = LTTBDownsampler()


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


def downsample_keeping_tops(
    v: NDArray[np.float64],
    rate: float,
    n_out: int = DEFAULT_POINTS,
    floor: float = -30.0,
    keep: Sequence[int] | NDArray[np.int64] = (),
) -> NDArray[np.int64]:
    """Like :func:`downsample_indexes` before the spikes are known: one min-max pass over ``TOP_BUCKET`` buckets,
    LTTB over its points down to about ``n_out``, plus the top of every bucket that reaches ``floor`` (mV) and the
    indexes in ``keep``. A spike's peak is the highest sample within TOP_BUCKET of it, so it is among the tops."""
    if not 3 <= n_out <= MAX_POINTS:
        raise ValueError(f"n_out must lie between 3 and {MAX_POINTS} (got {n_out})")
    v = np.ascontiguousarray(v, dtype=np.float64)
    keep = np.asarray(keep, dtype=np.int64)
    buckets = max(n_out, int(np.ceil(len(v) / (TOP_BUCKET * rate))))
    if len(v) <= max(n_out, 2 * buckets):
        return np.arange(len(v), dtype=np.int64)
    extremes = _MINMAX.downsample(v, n_out=2 * buckets).astype(np.int64)
    tops = extremes[v[extremes] >= floor]
    if len(tops) > MAX_TOPS:
        tops = tops[np.argpartition(v[tops], -MAX_TOPS)[-MAX_TOPS:]]
    chosen = extremes[_LTTB.downsample(extremes.astype(np.float64), v[extremes], n_out=n_out)]
    return np.union1d(np.union1d(chosen, tops), keep)


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
