"""Cell features from a synthetic cell's Long Square series and ramp, and from a real single-sweep cell.

Expected synthetic values are ipfx 2.1.2's cell record (``build_cell_feature_record``) on the same arrays.
"""

from __future__ import annotations

import math

import pytest

from celltypes.science.ephys.cell_features import CELL_FEATURES, CellSweeps, fi_curve
from celltypes.science.ephys.sweep_features import CurrentClampSweep, stim_amp
from tests.unit.science import ephys_synthetic as synthetic
from tests.unit.science.ephys_real import real_clamp_sweep


def clamp(sweep: synthetic.SyntheticSweep) -> CurrentClampSweep:
    return CurrentClampSweep(sweep.t, sweep.v, sweep.i, sweep.start, sweep.end)


@pytest.fixture(scope="module")
def synthetic_cell() -> CellSweeps:
    squares = [clamp(s) for s in synthetic.synthetic_long_squares()]
    return CellSweeps(squares, [clamp(synthetic.synthetic_ramp())])


def test_synthetic_cell_features_equal_ipfxs_record(synthetic_cell: CellSweeps) -> None:
    features = synthetic_cell.features()
    assert features["threshold_i_long_square"] == 70.0
    assert features["f_i_curve_slope"] == pytest.approx(0.2)
    assert features["threshold_v_long_square"] == pytest.approx(-59.586868627820586, rel=1e-12)
    assert features["peak_v_long_square"] == pytest.approx(25.004489508434276, rel=1e-12)
    assert features["fast_trough_v_long_square"] == pytest.approx(-69.97741088213552, rel=1e-12)
    assert features["upstroke_downstroke_ratio_long_square"] == pytest.approx(2.3255806083659074, rel=1e-9)
    assert features["threshold_t_ramp"] == pytest.approx(5.00014)
    assert features["vrest"] == pytest.approx(-69.99987877883791, rel=1e-12)
    assert features["adaptation"] == pytest.approx(0.024398419805678938, rel=1e-9)
    assert features["latency"] == pytest.approx(0.02682)
    assert features["avg_isi"] == pytest.approx(109.165)
    assert features["sag"] == pytest.approx(0.07006706094465932, rel=1e-9)
    assert features["vm_for_sag"] == pytest.approx(-84.30267262434671, rel=1e-12)
    assert features["ri"] == pytest.approx(129.11558862363813, rel=1e-9)
    assert features["tau"] == pytest.approx(16.61744268995478, rel=1e-4)


def test_synthetic_cell_rheobase_and_hero_sweeps(synthetic_cell: CellSweeps) -> None:
    assert stim_amp(synthetic_cell.rheobase_sweep) == 70.0
    assert stim_amp(synthetic_cell.hero_sweep) == 110.0  # the first firing step 39-61 pA above rheobase
    assert [stim_amp(s) for s in synthetic_cell.membrane_sweeps] == [-90.0, -70.0, -50.0, -30.0, -10.0]


def test_synthetic_cell_fi_curve(synthetic_cell: CellSweeps) -> None:
    curve = fi_curve(synthetic_cell)
    assert [amp for amp, _ in curve] == list(range(-110, 151, 20))
    assert [rate for _, rate in curve if rate > 0] == pytest.approx([1.0, 5.0, 9.0, 13.0, 17.0])
    assert all(rate == 0 for amp, rate in curve if amp < 70)


def test_a_single_firing_sweep_gives_no_rheobase() -> None:
    """Real cell 509881736 has one sweep here (130 pA, 25 spikes): rheobase is unknown, resting Vm is not."""
    cell = CellSweeps([real_clamp_sweep(509881736)])
    features = cell.features()
    assert math.isnan(features["threshold_i_long_square"]) and math.isnan(features["f_i_curve_slope"])
    assert math.isnan(features["upstroke_downstroke_ratio_long_square"]) and math.isnan(features["ri"])
    assert features["vrest"] == pytest.approx(-67.12652816314697, rel=1e-12)
    assert fi_curve(cell) == [(pytest.approx(130.0, abs=1e-4), pytest.approx(25.0))]


def test_cell_feature_registry() -> None:
    assert {"threshold_i_long_square", "f_i_curve_slope", "fast_trough_v_long_square", "vrest"} <= set(CELL_FEATURES)
    assert {"upstroke_downstroke_ratio_long_square", "threshold_t_ramp", "ri", "tau", "sag"} <= set(CELL_FEATURES)
    assert CELL_FEATURES["threshold_i_long_square"].label == "Rheobase"
    assert CELL_FEATURES["f_i_curve_slope"].unit == "Hz/pA" and CELL_FEATURES["tau"].unit == "ms"
    assert CELL_FEATURES["threshold_t_ramp"].label == "Ramp AP time"
