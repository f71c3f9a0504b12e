"""Cell-level features from a cell's Long Square (and Ramp) sweeps, under Allen's EphysFeature column names.

Definitions follow ipfx's ``LongSquareAnalysis``/``RampAnalysis`` and ``build_cell_feature_record``: the
rheobase sweep is the lowest positive step that fires; the "hero" sweep the first firing step 39-61 pA above
it (else the nearest to +39 pA); the f-I slope a least-squares line through the firing steps; sag, time
constant and input resistance come from the non-firing steps. A feature is nan when its sweeps are missing;
in particular rheobase and the rheobase-sweep features need a non-firing step too (without one, the lowest
firing step is only an upper bound, and ipfx refuses the cell).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import spikes as spike_features
from . import subthreshold
from .registry import Feature, registrar
from .sweep_features import CurrentClampSweep, avg_rate, latency, mean_isi, peak_deflect, stim_amp, v_baseline
from .sweep_features import adapt as sweep_adapt

SAG_TARGET = -100.0  # mV: sag is taken from the non-firing step whose peak lies nearest this
HERO_MIN_OFFSET, HERO_MAX_OFFSET = 39.0, 61.0  # pA above rheobase


@dataclass(frozen=True, eq=False)
class CellSweeps:
    """A cell's analysed sweeps. ``subthreshold_min_amp`` (pA): steps below it are left out of the time
    constant and input resistance (ipfx: -100 pA for 20 pA coarse steps, -200 pA for 40 pA steps)."""

    long_squares: Sequence[CurrentClampSweep]
    ramps: Sequence[CurrentClampSweep] = ()
    subthreshold_min_amp: float = -100.0

    @cached_property
    def _by_amplitude(self) -> list[tuple[float, float, CurrentClampSweep]]:
        rows = [(stim_amp(s), avg_rate(s), s) for s in self.long_squares]
        return sorted(rows, key=lambda row: row[0])

    @cached_property
    def firing(self) -> list[tuple[float, float, CurrentClampSweep]]:
        """(amplitude pA, rate Hz, sweep) of the firing Long Squares, by amplitude."""
        return [row for row in self._by_amplitude if row[1] > 0]

    @cached_property
    def silent(self) -> list[CurrentClampSweep]:
        """Long Squares without a spike in the window, by amplitude."""
        return [row[2] for row in self._by_amplitude if row[1] == 0]

    @cached_property
    def rheobase_sweep(self) -> CurrentClampSweep | None:
        if not self.silent:
            return None
        return next((s for amp, _, s in self.firing if amp > 0), None)

    @cached_property
    def hero_sweep(self) -> CurrentClampSweep | None:
        if self.rheobase_sweep is None:
            return None
        low = stim_amp(self.rheobase_sweep) + HERO_MIN_OFFSET
        high = low - HERO_MIN_OFFSET + HERO_MAX_OFFSET
        inside = [s for amp, _, s in self.firing if low < amp < high]
        if inside:
            return inside[0]
        return self.firing[int(np.argmin([abs(low - amp) for amp, _, _ in self.firing]))][2]

    @cached_property
    def membrane_sweeps(self) -> list[CurrentClampSweep]:
        """Non-firing steps between ``subthreshold_min_amp`` and 0 pA (exclusive)."""
        return [s for s in self.silent if self.subthreshold_min_amp < stim_amp(s) < 0]

    def features(self) -> dict[str, float]:
        """Every registered cell feature, name -> value."""
        return {name: f(self) for name, f in CELL_FEATURES.items()}


def fi_curve(cell: CellSweeps) -> list[tuple[float, float]]:
    """(stimulus amplitude pA, firing rate Hz) of every Long Square, by amplitude: the f-I plot."""
    return [(amp, rate) for amp, rate, _ in cell._by_amplitude]


def _first_spike(sweep: CurrentClampSweep | None, feature: Feature) -> float:
    if sweep is None or not len(sweep.spikes):
        return math.nan
    return float(feature(sweep.spikes)[0])


# ---- features of a cell ----------------------------------------------------------------------------------

CELL_FEATURES: dict[str, Feature] = {}
feature = registrar(CELL_FEATURES)


@feature("Rheobase", "pA")
def threshold_i_long_square(c: CellSweeps) -> float:
    """Current at the first spike's threshold in the rheobase sweep (the lowest positive step that fires)."""
    return _first_spike(c.rheobase_sweep, spike_features.SPIKE_FEATURES["threshold_i"])


@feature("f-I curve slope", "Hz/pA")
def f_i_curve_slope(c: CellSweeps) -> float:
    """Least-squares slope of firing rate against step amplitude over the firing Long Squares."""
    if c.rheobase_sweep is None or len(c.firing) < 2:
        return math.nan
    amps, rates = np.array([row[0] for row in c.firing]), np.array([row[1] for row in c.firing])
    return subthreshold.line_slope(amps, rates)


@feature("Threshold (rheobase sweep)", "mV")
def threshold_v_long_square(c: CellSweeps) -> float:
    """Threshold of the first spike of the rheobase sweep."""
    return _first_spike(c.rheobase_sweep, spike_features.SPIKE_FEATURES["threshold_v"])


@feature("Peak (rheobase sweep)", "mV")
def peak_v_long_square(c: CellSweeps) -> float:
    """Peak of the first spike of the rheobase sweep."""
    return _first_spike(c.rheobase_sweep, spike_features.SPIKE_FEATURES["peak_v"])


@feature("Fast trough (rheobase sweep)", "mV")
def fast_trough_v_long_square(c: CellSweeps) -> float:
    """Fast trough of the first spike of the rheobase sweep."""
    return _first_spike(c.rheobase_sweep, spike_features.SPIKE_FEATURES["fast_trough_v"])


@feature("Upstroke/downstroke ratio (rheobase sweep)", "")
def upstroke_downstroke_ratio_long_square(c: CellSweeps) -> float:
    """Upstroke/downstroke ratio of the first spike of the rheobase sweep."""
    return _first_spike(c.rheobase_sweep, spike_features.SPIKE_FEATURES["upstroke_downstroke_ratio"])


@feature("Ramp AP time", "s")
def threshold_t_ramp(c: CellSweeps) -> float:
    """Mean threshold time of the first spike over the Ramp sweeps that fire (times on the sweeps' own axis)."""
    values = [_first_spike(s, spike_features.SPIKE_FEATURES["threshold_t"]) for s in c.ramps if len(s.spikes)]
    return float(np.nanmean(values)) if values and not np.all(np.isnan(values)) else math.nan


@feature("Resting Vm", "mV")
def vrest(c: CellSweeps) -> float:
    """Mean over the Long Squares of the potential in the 100 ms before the step."""
    values = [v_baseline(s) for s in c.long_squares]
    return float(np.nanmean(values)) if values else math.nan


@feature("Adaptation index", "")
def adaptation(c: CellSweeps) -> float:
    """Adaptation index of the hero sweep."""
    return sweep_adapt(c.hero_sweep) if c.hero_sweep is not None else math.nan


@feature("Latency", "s", name="latency")
def hero_latency(c: CellSweeps) -> float:
    """Latency of the hero sweep's first spike."""
    return latency(c.hero_sweep) if c.hero_sweep is not None else math.nan


@feature("Mean ISI", "ms")
def avg_isi(c: CellSweeps) -> float:
    """Mean ISI of the hero sweep."""
    return mean_isi(c.hero_sweep) if c.hero_sweep is not None else math.nan


def _sag_sweep(c: CellSweeps) -> CurrentClampSweep | None:
    if not c.silent:
        return None
    return c.silent[int(np.argmin([abs(peak_deflect(s) - SAG_TARGET) for s in c.silent]))]


@feature("Sag", "", name="sag")
def cell_sag(c: CellSweeps) -> float:
    """Sag of the non-firing step whose peak deflection lies nearest -100 mV."""
    sweep = _sag_sweep(c)
    return subthreshold.sag(sweep.t, sweep.v, sweep.i, sweep.start, sweep.end) if sweep is not None else math.nan


@feature("Vm for sag", "mV")
def vm_for_sag(c: CellSweeps) -> float:
    """Peak deflection of the sweep the sag is taken from."""
    sweep = _sag_sweep(c)
    return peak_deflect(sweep) if sweep is not None else math.nan


@feature("Input resistance", "MΩ")
def ri(c: CellSweeps) -> float:
    """Slope of peak hyperpolarisation against current over the non-firing steps from -100 pA to 0."""
    sweeps = c.membrane_sweeps
    if not sweeps:
        return math.nan
    first = sweeps[0]
    return subthreshold.input_resistance(
        [s.t for s in sweeps], [s.i for s in sweeps], [s.v for s in sweeps], first.start, first.end
    )


@feature("Membrane time constant", "ms", name="tau")
def cell_tau(c: CellSweeps) -> float:
    """Mean time constant of the non-firing steps from -100 pA to 0, each fitted up to the median peak time."""
    sweeps = c.membrane_sweeps
    if not sweeps:
        return math.nan
    peak_times = [s.t[subthreshold.voltage_deflection(s.t, s.v, s.i, s.start, s.end, "min")[1]] for s in sweeps]
    fit_end = float(np.median(peak_times))
    taus = [subthreshold.time_constant(s.t, s.v, s.i, s.start, s.end, fit_end) for s in sweeps]
    return float(np.nanmean(taus)) * 1e3 if not np.all(np.isnan(taus)) else math.nan
