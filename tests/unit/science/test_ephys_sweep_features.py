"""Sweep features (firing and passive) on the real Long Square windows and on synthetic steps.

Expected values are ipfx 2.1.2's on the same arrays, ISIs converted to ms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from celltypes.science.ephys import subthreshold
from celltypes.science.ephys.sweep_features import SWEEP_FEATURES, CurrentClampSweep, step_window
from tests.unit.science import ephys_synthetic as synthetic
from tests.unit.science.ephys_real import real_clamp_sweep, real_npz_sweep


def clamp(sweep: synthetic.SyntheticSweep) -> CurrentClampSweep:
    return CurrentClampSweep(sweep.t, sweep.v, sweep.i, sweep.start, sweep.end)


def test_step_window_of_a_real_sweep_is_ipfxs() -> None:
    sweep = real_npz_sweep(509881736)
    assert step_window(sweep.t, sweep.i) == pytest.approx((0.205, 1.205))
    with pytest.raises(ValueError, match="no current step"):
        step_window(sweep.t, np.zeros(len(sweep.t)))


def test_step_window_skips_a_test_pulse() -> None:
    t = np.arange(1000) / 1000.0
    i = np.zeros(1000)
    i[10:20] = -10.0  # a synthetic test pulse
    i[300:800] = 50.0
    assert step_window(t, i, test_pulse=True) == pytest.approx((0.3, 0.8))
    assert step_window(t, i)[0] == pytest.approx(0.01)


def test_real_sweep_features_of_cell_509881736() -> None:
    features = real_clamp_sweep(509881736).features()
    assert features["stim_amp"] == pytest.approx(130.0, abs=1e-4)
    assert features["num_spikes"] == 25
    assert features["avg_rate"] == pytest.approx(25.0)
    assert features["latency"] == pytest.approx(0.02422)
    assert features["first_isi"] == pytest.approx(14.6)
    assert features["mean_isi"] == pytest.approx(39.665)
    assert features["median_isi"] == pytest.approx(42.78)
    assert features["isi_cv"] == pytest.approx(0.32182243352227674, rel=1e-9)
    assert features["adapt"] == pytest.approx(0.029355668198049564, rel=1e-9)
    assert features["v_baseline"] == pytest.approx(-67.12652816314697, rel=1e-12)
    assert features["peak_deflect"] == pytest.approx(32.031253814697266)
    # a depolarising step that fires: the passive features are not defined
    assert all(math.isnan(features[name]) for name in ("sag", "tau", "input_resistance"))


def test_real_sweep_features_of_cell_518290966() -> None:
    features = real_clamp_sweep(518290966).features()
    assert (features["num_spikes"], features["avg_rate"]) == (12, pytest.approx(12.0))
    assert features["latency"] == pytest.approx(0.0628)
    assert features["first_isi"] == pytest.approx(57.68)
    assert features["adapt"] == pytest.approx(0.0224760240030352, rel=1e-9)
    assert features["v_baseline"] == pytest.approx(-72.64893476257325, rel=1e-12)


def test_synthetic_hyperpolarising_step_has_sag_tau_and_input_resistance() -> None:
    features = clamp(synthetic.synthetic_step_sweep(-110.0)).features()
    assert features["num_spikes"] == 0 and features["avg_rate"] == 0
    assert features["peak_deflect"] == pytest.approx(-84.30267262434671, rel=1e-12)
    assert features["v_baseline"] == pytest.approx(-69.99948531934847, rel=1e-12)
    assert features["sag"] == pytest.approx(0.07006706094465932, rel=1e-9)
    assert features["tau"] == pytest.approx(16.550170311601407, rel=1e-4)
    assert features["input_resistance"] == pytest.approx(130.02897549998397, rel=1e-9)
    assert all(math.isnan(features[n]) for n in ("latency", "first_isi", "mean_isi", "isi_cv", "adapt"))


def test_synthetic_depolarising_silent_step_has_no_passive_features() -> None:
    features = clamp(synthetic.synthetic_step_sweep(30.0, seed=7)).features()
    assert features["peak_deflect"] == pytest.approx(-65.38758455109019, rel=1e-12)
    assert all(math.isnan(features[name]) for name in ("sag", "tau", "input_resistance"))


def test_synthetic_single_spike_has_latency_but_no_isi() -> None:
    features = clamp(synthetic.synthetic_step_sweep(90.0, (0.25,))).features()
    assert features["num_spikes"] == 1
    assert features["latency"] == pytest.approx(0.05014)
    assert math.isnan(features["first_isi"]) and math.isnan(features["adapt"])


def test_time_constant_of_a_pure_exponential() -> None:
    """A synthetic noiseless RC charge with tau = 12 ms: the fit returns it (ipfx: inf SNR when noiseless)."""
    t = np.arange(30_000) / 50e3
    v = np.full_like(t, -70.0)
    on = t >= 0.1
    v[on] -= 10.0 * (1 - np.exp(-(t[on] - 0.1) / 0.012))
    i = np.where(on & (t < 0.5), -50.0, 0.0)
    assert subthreshold.time_constant(t, v, i, 0.1, 0.5) == pytest.approx(0.012, rel=1e-6)
    a, rate, y0 = subthreshold.fit_membrane_time_constant(t, v, 0.11, 0.3)
    assert (rate, y0) == (pytest.approx(1 / 0.012, rel=1e-6), pytest.approx(-80.0, rel=1e-6))


def test_time_constant_is_nan_when_the_trace_is_noisy() -> None:
    t = np.arange(30_000) / 50e3
    v = -70.0 + np.random.default_rng(0).normal(0, 2.0, len(t))
    i = np.where((t >= 0.1) & (t < 0.5), -50.0, 0.0)
    assert math.isnan(subthreshold.time_constant(t, v, i, 0.1, 0.5))


def test_sweep_feature_registry() -> None:
    assert list(SWEEP_FEATURES) == [
        "stim_amp", "num_spikes", "avg_rate", "latency", "first_isi", "mean_isi", "median_isi", "isi_cv",
        "adapt", "v_baseline", "peak_deflect", "sag", "tau", "input_resistance",
    ]  # fmt: skip
    units = {name: f.unit for name, f in SWEEP_FEATURES.items()}
    assert (units["avg_rate"], units["latency"], units["mean_isi"], units["tau"]) == ("Hz", "s", "ms", "ms")
    assert units["input_resistance"] == "MΩ" and units["stim_amp"] == "pA"
