"""Current-clamp stimuli as arrays of amperes, one value per step of ``dt`` seconds.

A stimulus lasting ``total`` seconds has ``round(total / dt)`` samples; sample ``i`` is the current during
``[i * dt, (i + 1) * dt)``. Start and end times are rounded to the nearest step the same way.

Pink noise (:func:`pink_noise`) is defined step by step so that a seed means the same current anywhere:

1. white noise: ``bits = numpy.random.PCG64(seed).random_raw(n)`` (PCG64 seeded through NumPy's SeedSequence;
   integer arithmetic only, so the same bits on any machine), ``white = (bits >> 11) * 2**-53 - 0.5``
   (exact, uniform on [-0.5, 0.5));
2. ``numpy.fft.rfft(white)`` is multiplied by ``1 / sqrt(f)`` for ``f_min <= f <= f_max`` and by 0 elsewhere
   (``f = numpy.fft.rfftfreq(n, dt)``; the 0 Hz bin is always 0), so the power falls as ``1/f``, and
   ``numpy.fft.irfft(..., n)`` brings it back (a sum of many components: close to Gaussian);
3. it is shifted and scaled to mean 0 and standard deviation 1 (``ddof=0``), and the current is
   ``mean + cv * |mean| * x`` during the noise epoch, 0 elsewhere.

Step 1 is exact everywhere. Steps 2-3 are deterministic for a given NumPy; another NumPy's FFT may round the
last bit differently (relative differences near 1e-15).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .errors import ScienceError

# 5 million samples: 100 s at Allen's 50 kHz, 25 s at 200 kHz.
MAX_SAMPLES = 5_000_000


def long_square(*, amplitude: float, start: float, duration: float, total: float, dt: float) -> NDArray[np.float64]:
    """``amplitude`` amperes from ``start`` for ``duration`` seconds, 0 elsewhere (Allen's Long Square shape)."""
    stimulus, first, stop = _epoch(start, duration, total, dt)
    stimulus[first:stop] = amplitude
    return stimulus


def ramp(*, slope: float, start: float, duration: float, total: float, dt: float) -> NDArray[np.float64]:
    """A current rising at ``slope`` A/s from 0 at ``start`` for ``duration`` seconds, then 0 (Allen's Ramp is
    25 pA/s, ``slope=25e-12``)."""
    stimulus, first, stop = _epoch(start, duration, total, dt)
    stimulus[first:stop] = slope * (np.arange(stop - first) * dt)
    return stimulus


def pink_noise(
    *,
    mean: float,
    cv: float,
    start: float,
    duration: float,
    total: float,
    dt: float,
    seed: int,
    f_min: float = 0.0,
    f_max: float | None = None,
) -> NDArray[np.float64]:
    """Seeded 1/f noise of mean ``mean`` A and standard deviation ``cv * |mean|`` over the epoch (module docstring
    gives the exact generator). ``f_max`` defaults to the Nyquist frequency."""
    if cv < 0:
        raise ScienceError(f"cv must be >= 0, got {cv}")
    if f_min < 0 or (f_max is not None and f_max <= f_min):
        raise ScienceError(f"need 0 <= f_min < f_max, got f_min={f_min}, f_max={f_max}")
    stimulus, first, stop = _epoch(start, duration, total, dt)
    n = stop - first
    if n < 2:
        raise ScienceError("the noise epoch needs at least 2 samples")
    bits = np.random.PCG64(seed).random_raw(n)
    white = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53 - 0.5
    frequencies = np.fft.rfftfreq(n, dt)
    upper = frequencies[-1] if f_max is None else f_max
    band = (frequencies > 0) & (frequencies >= f_min) & (frequencies <= upper)
    if not band.any():
        raise ScienceError(f"no frequency of a {n}-sample epoch at dt={dt} lies in [{f_min}, {upper}] Hz")
    shape = np.zeros_like(frequencies)
    shape[band] = 1.0 / np.sqrt(frequencies[band])
    noise = np.fft.irfft(np.fft.rfft(white) * shape, n)
    noise = (noise - noise.mean()) / noise.std()
    stimulus[first:stop] = mean + cv * abs(mean) * noise
    return stimulus


def _epoch(start: float, duration: float, total: float, dt: float) -> tuple[NDArray[np.float64], int, int]:
    if not (np.isfinite(dt) and dt > 0):
        raise ScienceError(f"dt must be a positive number of seconds, got {dt}")
    if not (start >= 0 and duration > 0 and start + duration <= total + dt / 2):
        raise ScienceError(f"the epoch {start} s + {duration} s must lie within the {total} s stimulus")
    n_samples = int(round(total / dt))
    if n_samples > MAX_SAMPLES:
        raise ScienceError(f"{total} s at dt={dt} is {n_samples} samples; at most {MAX_SAMPLES}")
    first = int(round(start / dt))
    stop = min(int(round((start + duration) / dt)), n_samples)
    return np.zeros(n_samples), first, stop
