"""Passive responses to current steps: baseline, peak deflection, sag, membrane time constant, input resistance.

Definitions and defaults follow Allen's ipfx (``subthresh_features``). Arguments: t in s, v in mV, i in pA,
``start``/``end`` the step's onset and offset in s. Results: mV, a fraction (sag), s (time constant, as
ipfx), MΩ (input resistance); ``nan`` where ipfx gives up (noisy trace, poor exponential fit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .timeseries import average_voltage, time_index

Array = NDArray[np.float64]


def baseline_voltage(t: Array, v: Array, start: float, baseline_interval: float = 0.1) -> float:
    """Mean potential (mV) over ``baseline_interval`` s before ``start``."""
    return average_voltage(t, v, start - baseline_interval, start)


def voltage_deflection(
    t: Array, v: Array, i: Array | None, start: float, end: float, deflect_type: str | None = None
) -> tuple[float, int]:
    """(potential in mV, sample index) of the extreme response between ``start`` and ``end``.

    ``deflect_type`` "min" or "max"; by default "max" when the current halfway through the step is >= 0
    (or "min" without a current trace).
    """
    start_index, end_index = time_index(t, start), time_index(t, end)
    if end_index <= start_index:
        raise ValueError(f"the step ends ({end} s) before it starts ({start} s)")
    if deflect_type is None:
        halfway = time_index(t, (end - start) / 2.0 + start)
        deflect_type = "max" if i is not None and i[halfway] >= 0 else "min"
    if deflect_type not in ("min", "max"):
        raise ValueError(f"deflect_type must be 'min' or 'max' (got {deflect_type!r})")
    window = v[start_index:end_index]
    index = start_index + int(np.argmin(window) if deflect_type == "min" else np.argmax(window))
    return float(v[index]), index


def sag(
    t: Array, v: Array, i: Array | None, start: float, end: float, peak_width: float = 0.005,
    baseline_interval: float = 0.03,
) -> float:  # fmt: skip
    """Fraction of the hyperpolarising peak that relaxes back by the step's end:
    (peak - steady) / (peak - baseline), the peak averaged over ``peak_width`` s, steady and baseline over
    ``baseline_interval`` s before the step's end and start."""
    _, peak_index = voltage_deflection(t, v, i, start, end, "min")
    half = peak_width / 2.0
    v_peak = average_voltage(t, v, t[peak_index] - half, t[peak_index] + half)
    v_baseline = baseline_voltage(t, v, start, baseline_interval)
    v_steady = average_voltage(t, v, end - baseline_interval, end)
    return (v_peak - v_steady) / (v_peak - v_baseline)


def fit_membrane_time_constant(
    t: Array, v: Array, start: float, end: float, rmse_max_tol: float = 1.0
) -> tuple[float, float, float]:
    """Least-squares fit of v = y0 + a exp(-k (t - start)) over [start, end): (a in mV, k in 1/s, y0 in mV).

    All nan when the fit's RMS error exceeds ``rmse_max_tol`` mV (or nothing fits).
    """
    s, e = time_index(t, start), time_index(t, end)
    x = t[s:e] - t[s]
    y = v[s:e].astype(np.float64)
    if len(x) < 4:
        return math.nan, math.nan, math.nan
    k = _best_rate(x, y)
    a, y0, residual = _linear_part(x, y, k)
    if not math.isfinite(k) or math.sqrt(residual / len(x)) > rmse_max_tol:
        return math.nan, math.nan, math.nan
    return a, k, y0


def _linear_part(x: Array, y: Array, k: float) -> tuple[float, float, float]:
    """(a, y0, sum of squared residuals) of the best y ≈ y0 + a exp(-k x) for a fixed rate k."""
    e = np.exp(-k * x)
    e_mean, y_mean = e.mean(), y.mean()
    de, dy = e - e_mean, y - y_mean
    spread = _dot(de, de)
    a = _dot(de, dy) / spread if spread > 0 else 0.0
    residual = dy - a * de
    return a, y_mean - a * e_mean, _dot(residual, residual)


def _dot(a: Array, b: Array) -> float:
    """Inner product without BLAS (whose threads cost more than the sum for these sizes)."""
    return float(np.einsum("i,i", a, b))


def _best_rate(x: Array, y: Array) -> float:
    """The rate k > 0 (1/s) minimising the squared error: a log-spaced scan, then golden-section search."""
    span = float(x[-1]) if x[-1] > 0 else 1.0
    rates = np.geomspace(1e-2 / span, 1e4 / span, 49)
    errors = [_linear_part(x, y, k)[2] for k in rates]
    best = int(np.argmin(errors))
    lo, hi = math.log(rates[max(best - 1, 0)]), math.log(rates[min(best + 1, len(rates) - 1)])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fc, fd = _linear_part(x, y, math.exp(c))[2], _linear_part(x, y, math.exp(d))[2]
    while hi - lo > 1e-11:
        if fc <= fd:
            hi, d, fd = d, c, fc
            c = hi - ratio * (hi - lo)
            fc = _linear_part(x, y, math.exp(c))[2]
        else:
            lo, c, fc = c, d, fd
            d = lo + ratio * (hi - lo)
            fd = _linear_part(x, y, math.exp(d))[2]
    return math.exp((lo + hi) / 2.0)


def time_constant(
    t: Array, v: Array, i: Array | None, start: float, end: float, max_fit_end: float | None = None,
    frac: float = 0.1, baseline_interval: float = 0.1, min_snr: float = 20.0,
) -> float:  # fmt: skip
    """Membrane time constant (s) of a hyperpolarising step: one exponential fitted from where the response
    passes ``frac`` of the peak deflection to the peak (or ``max_fit_end`` if earlier); nan when the
    deflection is under ``min_snr`` times the baseline noise (SD over ``baseline_interval`` before the step)."""
    v_peak, peak_index = voltage_deflection(t, v, i, start, end, "min")
    if max_fit_end is not None:
        peak_index = min(time_index(t, max_fit_end), peak_index)
        v_peak = float(v[peak_index])
    v_baseline = baseline_voltage(t, v, start, baseline_interval)
    start_index = time_index(t, start)
    noise = float(np.std(v[time_index(t, start - baseline_interval) : start_index]))
    snr = math.inf if noise == 0 else abs(v_baseline - v_peak) / noise
    if snr < min_snr:
        return math.nan
    crossed = np.flatnonzero(v[start_index:] <= frac * (v_peak - v_baseline) + v_baseline)
    if not len(crossed):
        return math.nan
    _, rate, _ = fit_membrane_time_constant(t, v, t[start_index + crossed[0]], t[peak_index])
    return 1.0 / rate


def input_resistance(
    t_set: Sequence[Array], i_set: Sequence[Array], v_set: Sequence[Array], start: float, end: float,
    baseline_interval: float = 0.1,
) -> float:  # fmt: skip
    """Input resistance (MΩ): slope of the peak hyperpolarisation against the current there, over the given
    sweeps; a single sweep is paired with its own baseline at 0 pA."""
    v_points, i_points = [], []
    for t, i, v in zip(t_set, i_set, v_set, strict=True):
        v_peak, index = voltage_deflection(t, v, i, start, end, "min")
        v_points.append(v_peak)
        i_points.append(float(i[index]))
    if len(v_points) == 1:
        v_points.append(baseline_voltage(t_set[0], v_set[0], start, baseline_interval))
        i_points.append(0.0)
    return line_slope(np.array(i_points), np.array(v_points)) * 1e3


def line_slope(x: Array, y: Array) -> float:
    """Least-squares slope of y against x (nan for fewer than two distinct x)."""
    dx = x - x.mean()
    spread = _dot(dx, dx)
    return _dot(dx, y - y.mean()) / spread if spread > 0 else math.nan
