"""Deterministic SYNTHETIC current-clamp sweeps for the ephys tests and benchmark (invented, not recordings).

A passive membrane (input resistance, time constant, an h-current-like sag) answers a current step or
ramp; action potentials are drawn at chosen onset times from an analytic waveform (asymmetric Gaussian
upstroke/downstroke, a smooth afterhyperpolarisation, optionally an afterdepolarisation bump); seeded
Gaussian noise is added. Times in s, v in mV, i in pA. Every name here says "synthetic".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

V_REST = -70.0  # mV
R_INPUT = 150.0  # MΩ
TAU = 0.02  # s
SAG_FRACTION = 0.2  # of the step response, relaxing with TAU_SAG
TAU_SAG = 0.06  # s
NOISE_MV = 0.03
STEP_START, STEP_LENGTH, WINDOW = 0.2, 1.0, 1.45  # s, like the real Long Square windows
RHEOBASE = 70.0  # pA of the synthetic cell
FI_SLOPE = 0.2  # Hz/pA above rheobase


@dataclass(frozen=True)
class SyntheticSweep:
    name: str
    t: NDArray[np.float64]
    v: NDArray[np.float64]
    i: NDArray[np.float64]
    start: float  # s, the stimulus onset
    end: float  # s, the stimulus offset (ipfx's start + duration)
    onsets: tuple[float, ...]  # s, where each drawn action potential starts rising


def _passive(t: NDArray, i: NDArray, rate: float) -> NDArray:
    """Membrane response to an arbitrary current: two first-order filters (the RC response and the sag)."""
    drive = i * R_INPUT * 1e-3  # mV at steady state without sag
    fast = _first_order(drive, TAU, rate)
    slow = _first_order(drive, TAU_SAG, rate)
    # the sag grows with hyperpolarisation only, as an h-current would
    sag = np.where(slow < 0, SAG_FRACTION * slow, 0.0)
    sag = _first_order(sag, TAU, rate)
    return V_REST + fast - sag


def _first_order(x: NDArray, tau: float, rate: float) -> NDArray:
    """Exact discrete response of dy/dt = (x - y) / tau to piecewise-constant x, vectorised by blocks."""
    decay = np.exp(-1.0 / (rate * tau))
    y = np.empty_like(x)
    level = 0.0
    block = 4096
    powers = decay ** np.arange(1, block + 1)
    for lo in range(0, len(x), block):
        chunk = x[lo : lo + block]
        n = len(chunk)
        # y[k] = decay^(k+1) level + (1 - decay) sum_{j<=k} decay^(k-j) chunk[j]
        weights = (1 - decay) * chunk / powers[:n]
        y[lo : lo + n] = powers[:n] * (level + np.cumsum(weights))
        level = y[lo + n - 1]
    return y


def action_potential(tau_ms: NDArray, *, height=85.0, up_ms=0.2, down_ms=0.5, ahp=12.0, adp=0.0, hump=0.0) -> NDArray:
    """SYNTHETIC action potential (mV above the passive trace) at times ``tau_ms`` after its onset; ``adp``
    adds an afterdepolarisation 3 ms after the peak, ``hump`` a slow depolarisation 20 ms after it."""
    peak_ms = 3.0 * up_ms
    x = tau_ms - peak_ms
    sigma = np.where(x < 0, up_ms, down_ms)
    spike = height * np.exp(-((x / sigma) ** 2))
    after = np.clip(x, 0.0, None)
    spike -= ahp * (1.0 - np.exp(-((after / 1.0) ** 2))) * np.exp(-after / 15.0)
    if adp:
        spike += adp * np.exp(-(((x - 3.0) / 0.8) ** 2))
    if hump:
        spike += hump * np.exp(-(((x - 20.0) / 5.0) ** 2))
    return spike


def synthetic_step_sweep(
    amplitude: float, onsets: tuple[float, ...] = (), *, rate: float = 50_000.0, window: float = WINDOW,
    start: float = STEP_START, length: float = STEP_LENGTH, seed: int = 0, name: str = "synthetic_step",
    **spike_shape: float,
) -> SyntheticSweep:  # fmt: skip
    """A SYNTHETIC Long Square sweep: ``amplitude`` pA from ``start`` for ``length`` s, spikes at ``onsets``."""
    n = int(round(window * rate))
    t = np.arange(n) / rate
    i = np.zeros(n)
    first, last = int(round(start * rate)), int(round((start + length) * rate))
    i[first:last] = amplitude
    v = _passive(t, i, rate)
    for onset in onsets:
        lo, hi = int(onset * rate) - int(0.002 * rate), min(n, int(onset * rate) + int(0.08 * rate))
        v[lo:hi] += action_potential((t[lo:hi] - onset) * 1e3, **spike_shape)
    v += np.random.default_rng(seed).normal(0.0, NOISE_MV, n)
    end = float(t[first]) + float(t[last - 1] - t[first - 1])
    return SyntheticSweep(name, t, v, i, float(t[first]), end, tuple(onsets))


def synthetic_onsets(amplitude: float, start: float = STEP_START, length: float = STEP_LENGTH) -> tuple[float, ...]:
    """Onsets of the SYNTHETIC cell's spikes for a step: none below rheobase, then an adapting train whose
    count grows by FI_SLOPE Hz/pA."""
    if amplitude < RHEOBASE:
        return ()
    count = 1 + int(FI_SLOPE * (amplitude - RHEOBASE))
    latency = 0.01 + 1.0 / (amplitude - RHEOBASE + 20.0)
    if count == 1:
        return (start + latency,)
    span = 0.9 * length - latency
    growth = 1.05
    first_isi = span * (growth - 1) / (growth ** (count - 1) - 1)
    times, now = [start + latency], start + latency
    for k in range(count - 1):
        now += first_isi * growth**k
        times.append(now)
    return tuple(times)


def synthetic_long_squares(rate: float = 50_000.0) -> list[SyntheticSweep]:
    """The SYNTHETIC cell's Long Square series: -110 pA to +150 pA in 20 pA steps."""
    return [
        synthetic_step_sweep(a, synthetic_onsets(a), rate=rate, seed=k, name=f"synthetic_long_square_{a:+.0f}pA")
        for k, a in enumerate(range(-110, 151, 20))
    ]


def synthetic_ramp(rate: float = 50_000.0, slope: float = 25.0, seed: int = 99) -> SyntheticSweep:
    """A SYNTHETIC ramp: ``slope`` pA/s from 1 s, firing once the current passes 100 pA, stopped 0.5 s later."""
    start, fire_at = 1.0, 1.0 + 100.0 / slope
    stop = fire_at + 0.5
    n = int(round((stop + 0.5) * rate))
    t = np.arange(n) / rate
    i = np.where((t >= start) & (t < stop), slope * (t - start), 0.0)
    onsets = tuple(fire_at + k * 0.08 for k in range(6))
    v = V_REST + np.minimum(_passive(t, i, rate) - V_REST, 15.0)  # the membrane settles below threshold
    for onset in onsets:
        lo, hi = int(onset * rate) - int(0.002 * rate), min(n, int(onset * rate) + int(0.08 * rate))
        v[lo:hi] += action_potential((t[lo:hi] - onset) * 1e3)
    v += np.random.default_rng(seed).normal(0.0, NOISE_MV, n)
    first = int(np.flatnonzero(np.diff(i))[0]) + 1
    return SyntheticSweep("synthetic_ramp", t, v, i, float(t[first]), float(t[-1]), onsets)


def synthetic_variety() -> list[SyntheticSweep]:
    """SYNTHETIC sweeps that take the detector's rarer paths, at 50 and 200 kHz."""
    train = (0.25, 0.30, 0.38, 0.5, 0.7, 0.95)
    return [
        synthetic_step_sweep(150.0, train, name="synthetic_regular_50khz"),
        synthetic_step_sweep(150.0, train, rate=200_000.0, seed=1, name="synthetic_regular_200khz"),
        synthetic_step_sweep(150.0, train, adp=5.0, seed=2, name="synthetic_adp_50khz"),
        synthetic_step_sweep(150.0, train, adp=5.0, rate=200_000.0, seed=3, name="synthetic_adp_200khz"),
        # the last spike starts rising 0.4 ms before the step's end: clipped
        synthetic_step_sweep(150.0, (0.3, 0.6, 1.1996), seed=4, name="synthetic_clipped_last_spike"),
        # broad events whose peak comes more than 5 ms after threshold: dropped
        synthetic_step_sweep(
            150.0, (0.3, 0.6, 0.9), up_ms=2.6, down_ms=3.0, height=80.0, seed=5, name="synthetic_slow_events"
        ),
        # small spikes followed by a slow, higher depolarisation: the peak is looked for again near threshold
        synthetic_step_sweep(
            150.0, (0.3, 0.6, 0.9), height=50.0, hump=60.0, seed=8, name="synthetic_spikes_before_humps"
        ),
        # a doublet: the second spike starts inside the first one's afterhyperpolarisation
        synthetic_step_sweep(150.0, (0.3, 0.3025, 0.6), seed=6, name="synthetic_doublet"),
    ]


def synthetic_long_sweep(rate: float = 200_000.0, seconds: float = 10.0) -> SyntheticSweep:
    """A long SYNTHETIC sweep (default 10 s at 200 kHz, 2,000,000 samples) firing at 10 Hz for 8 s."""
    onsets = tuple(1.0 + 0.1 * k for k in range(80))
    return synthetic_step_sweep(
        150.0, onsets, rate=rate, window=seconds, start=1.0, length=8.0, seed=7, name="synthetic_long_200khz"
    )
