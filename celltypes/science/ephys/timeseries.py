"""Time-series helpers shared by the ephys features: time lookup, averages, the Bessel-filtered dV/dt.

Conventions (those of Allen's ipfx): t in seconds, v in mV, i in pA, dV/dt in mV/ms (= V/s). ``t`` must be
uniformly sampled and increasing.

:func:`bessel_filtfilt` is the zero-phase 4-pole low-pass Bessel filter ipfx applies before differentiating
(``scipy.signal.bessel(4, cutoff / nyquist)`` run forward and backward by ``scipy.signal.filtfilt``, odd
padding of 15 samples, steady-state initial conditions), computed here without scipy: the two passes are one
multiplication by |H|² in the frequency domain, and the one place where the backward pass differs from that
product (its start at the right end, held at the forward output's last value) is corrected exactly with the
filter's impulse response. The result equals scipy's to about 1e-12 of the signal's scale.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

BESSEL_ORDER = 4
# scipy.signal.filtfilt's default pad length for a 4-pole filter: 3 * max(len(a), len(b)).
FILTFILT_PADLEN = 3 * (BESSEL_ORDER + 1)
_TAIL = 1e-17  # impulse-response tail (relative to its sum) below which the response is cut


def check_time(t: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    """Validate a (t, v) pair and return the sampling interval dt in seconds."""
    if t.ndim != 1 or v.ndim != 1 or len(t) != len(v):
        raise ValueError(f"t and v must be 1-D arrays of the same length (got {t.shape} and {v.shape})")
    if len(t) < 2 * FILTFILT_PADLEN + 2:
        raise ValueError(f"a sweep needs at least {2 * FILTFILT_PADLEN + 2} samples (got {len(t)})")
    dt = float(t[1] - t[0])
    span = float(t[-1] - t[0])
    if not (dt > 0 and math.isfinite(span)) or abs(span - dt * (len(t) - 1)) > 1e-6 * span:
        raise ValueError("t must be uniformly sampled and increasing (seconds)")
    return dt


def time_index(t: NDArray[np.float64], t0: float) -> int:
    """Index of the sample of ``t`` nearest ``t0`` (the first of two equally near), for a uniform ``t``.

    Same result as ipfx's ``argmin(abs(t - t0))`` at O(1) cost; ``t0`` must lie within ``t``.
    """
    first, last = float(t[0]), float(t[-1])
    if not first <= t0 <= last:
        raise ValueError(f"time {t0:g} s is outside the sweep ({first:g} s to {last:g} s)")
    guess = int(round((t0 - first) / (t[1] - t[0])))
    lo, hi = max(guess - 1, 0), min(guess + 2, len(t))
    return lo + int(np.argmin(np.abs(t[lo:hi] - t0)))


def average_voltage(t: NDArray[np.float64], v: NDArray[np.float64], start: float, end: float) -> float:
    """Mean of v (mV) from the sample nearest ``start`` up to, not including, the sample nearest ``end``."""
    return float(np.mean(v[time_index(t, start) : time_index(t, end)]))


@lru_cache(maxsize=16)
def bessel_lowpass(cutoff_hz: float, sample_rate_hz: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(b, a) of the digital 4-pole low-pass Bessel filter, phase-normalised, as ``scipy.signal.bessel`` makes it.

    Analog prototype: roots of the reverse Bessel polynomial scaled so that the phase response matches a
    Butterworth filter's asymptotes; then frequency pre-warping and the bilinear transform.
    """
    wn = cutoff_hz / (sample_rate_hz / 2.0)
    if not 0.0 < wn < 1.0:
        raise ValueError(
            f"cannot low-pass filter at {cutoff_hz / 1e3:g} kHz a sweep sampled at {sample_rate_hz / 1e3:g} kHz "
            "(the cutoff must lie below the Nyquist frequency)"
        )
    n = BESSEL_ORDER
    # coefficients of the reverse Bessel polynomial, constant term first: (2n - k)! / (2^(n-k) k! (n - k)!)
    reverse_bessel = [
        math.factorial(2 * n - k) // (2 ** (n - k) * math.factorial(k) * math.factorial(n - k)) for k in range(n + 1)
    ]
    poles = np.roots(reverse_bessel[::-1]) * reverse_bessel[0] ** (-1.0 / n)
    warped = 4.0 * math.tan(math.pi * wn / 2.0)  # 2 * fs * tan(pi * wn / fs) with scipy's fs = 2
    poles = poles * warped
    digital_poles = (4.0 + poles) / (4.0 - poles)
    gain = warped**n / float(np.real(np.prod(4.0 - poles)))
    b = gain * np.array([math.comb(n, k) for k in range(n + 1)], dtype=np.float64)
    a = np.real(np.poly(digital_poles))
    return b, a


@lru_cache(maxsize=16)
def _impulse_response(cutoff_hz: float, sample_rate_hz: float) -> NDArray[np.float64]:
    """Causal impulse response of :func:`bessel_lowpass`, cut where the rest sums to < 1e-17 of the whole."""
    b, a = bessel_lowpass(cutoff_hz, sample_rate_hz)
    out: list[float] = []
    state = [0.0] * BESSEL_ORDER  # direct form II transposed, as scipy.signal.lfilter
    total = 0.0
    quiet = 0
    while True:
        x = 1.0 if not out else 0.0
        y = b[0] * x + state[0]
        for k in range(BESSEL_ORDER - 1):
            state[k] = b[k + 1] * x + state[k + 1] - a[k + 1] * y
        state[-1] = b[-1] * x - a[-1] * y
        out.append(y)
        total += abs(y)
        # the tail of a stable filter decays geometrically; stop after it stays negligible for a while
        quiet = quiet + 1 if abs(y) < _TAIL * total else 0
        if quiet >= 64 or len(out) > 1_000_000:
            return np.array(out[: len(out) - quiet + 1])


def _fast_length(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (FFT-friendly)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


@lru_cache(maxsize=6)  # float64 of size / 2: 8 MB for a 2,000,000-sample sweep
def _power_response(cutoff_hz: float, sample_rate_hz: float, size: int) -> NDArray[np.float64]:
    """|H|² of the Bessel filter on the rfft grid of ``size`` points (the forward-backward gain)."""
    b, a = bessel_lowpass(cutoff_hz, sample_rate_hz)
    z = np.exp(-2j * np.pi * np.arange(size // 2 + 1) / size)
    h = np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    return np.abs(h) ** 2


class BesselLowpass:
    """One sweep ready to be low-passed (zero-phase 4-pole Bessel, as ``scipy.signal.filtfilt``) at any of
    ``cutoffs_hz``: the padded signal is transformed once, each cutoff costs one inverse transform, on demand.
    """

    def __init__(self, v: NDArray[np.float64], sample_rate_hz: float, cutoffs_hz: tuple[float, ...]) -> None:
        n, pad = len(v), FILTFILT_PADLEN
        if n <= pad:
            raise ValueError(f"a sweep needs more than {pad} samples to be filtered (got {n})")
        self.sample_rate_hz, self.n = sample_rate_hz, n
        self.lead = max(len(_impulse_response(c, sample_rate_hz)) for c in cutoffs_hz)
        self.offset = float(v[0])
        x = np.asarray(v, dtype=np.float64) - self.offset
        # scipy's odd extension, then a constant run standing for the forward pass's steady-state start
        ext = np.concatenate((2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2 : -pad - 2 : -1]))
        self.end = self.lead + len(ext)
        self.size = _fast_length(self.end + self.lead)
        self.padded = np.zeros(self.size)
        self.padded[: self.lead] = ext[0]
        self.padded[self.lead : self.end] = ext
        self.spectrum = np.fft.rfft(self.padded)

    def __call__(self, cutoff_hz: float) -> NDArray[np.float64]:
        """v low-passed at ``cutoff_hz`` (len(v) samples)."""
        h = _impulse_response(cutoff_hz, self.sample_rate_hz)
        if len(h) > self.lead:
            raise ValueError(f"{cutoff_hz} Hz was not among the cutoffs this filter was prepared for")
        gain = _power_response(cutoff_hz, self.sample_rate_hz, self.size)
        both = np.fft.irfft(self.spectrum * gain, self.size)
        _correct_backward_start(both, self.padded, h, self.end)
        first = self.lead + FILTFILT_PADLEN
        return both[first : first + self.n] + self.offset


def bessel_filtfilt(v: NDArray[np.float64], sample_rate_hz: float, *cutoffs_hz: float) -> list[NDArray[np.float64]]:
    """Zero-phase 4-pole Bessel low-pass of ``v`` at each cutoff (Hz), as ``scipy.signal.filtfilt`` computes it.

    One FFT of the padded signal serves all cutoffs. Returns one array per cutoff, each ``len(v)`` long.
    """
    lowpass = BesselLowpass(v, sample_rate_hz, cutoffs_hz)
    return [lowpass(c) for c in cutoffs_hz]


def _correct_backward_start(both: NDArray[np.float64], padded: NDArray[np.float64], h: NDArray, m: int) -> None:
    """Turn the plain |H|² product into filtfilt near the right end, in place.

    The product lets the forward output run on past sample ``m - 1`` (decaying, as if the input stopped);
    filtfilt's backward pass instead starts from a steady state at the forward output's last value ``c``.
    The difference d = c - (natural forward output) beyond ``m`` enters the backward sum through h.
    """
    length = len(h)
    forward = np.convolve(h, padded[m - length : m])  # forward output at m - length ... m + length - 2
    last = forward[length - 1]
    d = last - forward[length:]  # at m ... m + length - 2
    # correction at sample m - s is sum_i h[s + i] * d[i], for s = 1 ... length - 1
    correction = np.convolve(h[::-1], d)[: length - 1]  # entry q is for s = length - 1 - q
    both[m - length + 1 : m] += correction


def calculate_dvdt(
    t: NDArray[np.float64], v: NDArray[np.float64], filter_khz: float | None = 10.0
) -> NDArray[np.float64]:
    """dV/dt in mV/ms (len(v) - 1 values) of v (mV) over t (s), low-passed first at ``filter_khz`` (None: raw)."""
    if filter_khz:
        dt = check_time(t, v)
        (v,) = bessel_filtfilt(v, 1.0 / dt, filter_khz * 1e3)
    return 1e-3 * np.diff(v) / np.diff(t)
