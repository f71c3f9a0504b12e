"""Features of one current-clamp sweep: firing (rate, latency, ISIs, adaptation) and passive response.

A :class:`CurrentClampSweep` holds t (s), v (mV), i (pA) and the analysis window ``start``/``end`` (s, the
step's onset and offset); its spikes are detected once, on first use. The firing features follow ipfx's
``SpikeTrainFeatureExtractor``; ISIs are reported in ms. Sag, time constant and input resistance are only
defined on a hyperpolarising step without spikes (nan elsewhere); ``subthreshold`` has the bare functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from . import subthreshold
from .registry import Feature, registrar
from .spikes import DEFAULT_PARAMETERS, SpikeParameters, Spikes, detect_spikes
from .timeseries import time_index


@dataclass(frozen=True, eq=False)
class CurrentClampSweep:
    t: NDArray[np.float64]
    v: NDArray[np.float64]
    i: NDArray[np.float64]
    start: float
    end: float
    params: SpikeParameters = DEFAULT_PARAMETERS

    @cached_property
    def spikes(self) -> Spikes:
        return detect_spikes(self.t, self.v, self.i, self.start, self.end, self.params)

    @cached_property
    def isis(self) -> NDArray[np.float64]:
        """Intervals between successive thresholds (s)."""
        return np.diff(self.spikes.threshold_t)

    @property
    def is_subthreshold_hyperpolarising(self) -> bool:
        return len(self.spikes) == 0 and stim_amp(self) < 0

    def features(self) -> dict[str, float]:
        """Every registered sweep feature, name -> value."""
        return {name: f(self) for name, f in SWEEP_FEATURES.items()}


def step_window(t: NDArray[np.float64], i: NDArray[np.float64], test_pulse: bool = False) -> tuple[float, float]:
    """(start, end) in s of the stimulus in ``i``: from the first change of current to the last, skipping
    the test pulse's two changes when ``test_pulse``; end = start + duration, as ipfx measures it."""
    changes = np.flatnonzero(np.diff(i))
    first = 2 if test_pulse else 0
    if len(changes) <= first or changes[first] + 1 >= changes[-1]:
        raise ValueError("no current step found in the stimulus")
    start_index, end_index = changes[first] + 1, changes[-1]
    start = float(t[start_index])
    return start, start + float(t[end_index] - t[start_index - 1])


# ---- features of a sweep ---------------------------------------------------------------------------------

SWEEP_FEATURES: dict[str, Feature] = {}
feature = registrar(SWEEP_FEATURES)


@feature("Stimulus amplitude", "pA")
def stim_amp(s: CurrentClampSweep) -> float:
    """Current one sample after the step's onset."""
    return float(s.i[time_index(s.t, s.start) + 1])


@feature("Spikes", "")
def num_spikes(s: CurrentClampSweep) -> float:
    """Number of spikes detected in the window."""
    return float(len(s.spikes))


@feature("Firing rate", "Hz")
def avg_rate(s: CurrentClampSweep) -> float:
    """Spikes with threshold inside the window, divided by the window's length."""
    times = s.spikes.threshold_t
    return float(np.count_nonzero((times >= s.start) & (times <= s.end)) / (s.end - s.start))


@feature("Latency", "s")
def latency(s: CurrentClampSweep) -> float:
    """Time from the step's onset to the first threshold."""
    return float(s.spikes.threshold_t[0] - s.start) if len(s.spikes) else math.nan


@feature("First ISI", "ms")
def first_isi(s: CurrentClampSweep) -> float:
    """Interval between the first two thresholds."""
    return float(s.isis[0] * 1e3) if len(s.isis) else math.nan


@feature("Mean ISI", "ms")
def mean_isi(s: CurrentClampSweep) -> float:
    """Mean interval between successive thresholds."""
    return float(s.isis.mean() * 1e3) if len(s.isis) else math.nan


@feature("Median ISI", "ms")
def median_isi(s: CurrentClampSweep) -> float:
    """Median interval between successive thresholds."""
    return float(np.median(s.isis) * 1e3) if len(s.isis) else math.nan


@feature("ISI CV", "")
def isi_cv(s: CurrentClampSweep) -> float:
    """Standard deviation / mean of the intervals."""
    return float(s.isis.std() / s.isis.mean()) if len(s.isis) else math.nan


@feature("Adaptation index", "")
def adapt(s: CurrentClampSweep) -> float:
    """Mean of (ISI[k+1] - ISI[k]) / (ISI[k+1] + ISI[k]); nan with fewer than two ISIs."""
    isis = s.isis
    if len(isis) <= 1:
        return math.nan
    total = isis[1:] + isis[:-1]
    if np.allclose(total, 0.0):
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = (isis[1:] - isis[:-1]) / total
    ratios[(isis[1:] == 0) & (isis[:-1] == 0)] = 0.0
    return float(np.nanmean(ratios))


@feature("Baseline Vm", "mV")
def v_baseline(s: CurrentClampSweep) -> float:
    """Mean potential over the 100 ms before the step."""
    return subthreshold.baseline_voltage(s.t, s.v, s.start, 0.1)


@feature("Peak deflection", "mV")
def peak_deflect(s: CurrentClampSweep) -> float:
    """Highest potential during a depolarising step, lowest during a hyperpolarising one."""
    return subthreshold.voltage_deflection(s.t, s.v, s.i, s.start, s.end)[0]


@feature("Sag", "")
def sag(s: CurrentClampSweep) -> float:
    """Fraction of the peak hyperpolarisation relaxed by the step's end (hyperpolarising steps, no spikes)."""
    if not s.is_subthreshold_hyperpolarising:
        return math.nan
    return subthreshold.sag(s.t, s.v, s.i, s.start, s.end)


@feature("Membrane time constant", "ms")
def tau(s: CurrentClampSweep) -> float:
    """Exponential fit from 10 % of the peak hyperpolarisation to the peak (hyperpolarising steps, no spikes)."""
    if not s.is_subthreshold_hyperpolarising:
        return math.nan
    return subthreshold.time_constant(s.t, s.v, s.i, s.start, s.end) * 1e3


@feature("Input resistance", "MΩ")
def input_resistance(s: CurrentClampSweep) -> float:
    """Peak hyperpolarisation minus baseline, over the current (hyperpolarising steps, no spikes)."""
    if not s.is_subthreshold_hyperpolarising:
        return math.nan
    return subthreshold.input_resistance([s.t], [s.i], [s.v], s.start, s.end)
