"""Our ephys features agree with Allen's ipfx 2.1.2 (own venv, scripts/make_ipfx_venv.sh) on the same arrays.

Sweeps: the five REAL Allen Long Square windows of the demo data, and SYNTHETIC sweeps (tests/unit/science/
ephys_synthetic.py: regular, ADP, clipped, slow, humped and doublet spikes at 50 and 200 kHz, a synthetic
cell's Long Square series and ramp). Tolerances of the issue: the same spikes, spike times within one
sample, voltages within 0.1 mV, upstroke/downstroke/width (and their ratio) within 1 %; sweep and cell
features likewise (times within one sample, intervals within two, voltages 0.1 mV, the rest 1 %).
Set CELLTYPES_SKIP_COMPAT=1 to skip when the ipfx venv is absent.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from celltypes.science.ephys import subthreshold
from celltypes.science.ephys.cell_features import CELL_FEATURES, CellSweeps
from celltypes.science.ephys.spikes import SPIKE_FEATURES
from celltypes.science.ephys.sweep_features import CurrentClampSweep
from tests.compat.ipfx_client import run_ipfx
from tests.unit.science import ephys_synthetic as synthetic
from tests.unit.science.ephys_real import REAL_SWEEPS, real_clamp_sweep

pytestmark = pytest.mark.compat

SPIKE_TIMES = ["threshold_t", "peak_t", "trough_t", "fast_trough_t", "adp_t", "slow_trough_t"]
SPIKE_VOLTAGES = ["threshold_v", "peak_v", "trough_v", "fast_trough_v", "adp_v", "slow_trough_v"]
SPIKE_SHAPES = ["upstroke", "downstroke", "upstroke_downstroke_ratio", "width"]
VOLTAGE_MV, RELATIVE = 0.1, 0.01


def _clamp(sweep: synthetic.SyntheticSweep) -> CurrentClampSweep:
    return CurrentClampSweep(sweep.t, sweep.v, sweep.i, sweep.start, sweep.end)


def _cases() -> dict[str, CurrentClampSweep]:
    cases = {f"real_{specimen}": real_clamp_sweep(specimen) for specimen in REAL_SWEEPS}
    for sweep in synthetic.synthetic_variety() + synthetic.synthetic_long_squares() + [synthetic.synthetic_ramp()]:
        cases[sweep.name] = _clamp(sweep)
    return cases


CASES = _cases()
LONG_SQUARES = [name for name in CASES if name.startswith("synthetic_long_square_")]
SWEEPS = [name for name in CASES if name != "synthetic_ramp"]


@pytest.fixture(scope="module")
def ipfx(ipfx_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    arrays = {name: (s.t, s.v, s.i, s.start, s.end) for name, s in CASES.items()}
    cell = {"key": "synthetic_cell", "long_squares": LONG_SQUARES, "ramps": ["synthetic_ramp"]}
    return run_ipfx(ipfx_python, arrays, tmp_path_factory.mktemp("ipfx"), [cell], extra_arrays=["synthetic_ramp"])


def _values(values: list) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _assert_same_nans(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    assert np.array_equal(np.isnan(ours), np.isnan(theirs)), f"{name}: defined at different spikes"


@pytest.mark.parametrize("name", SWEEPS)
def test_spikes_agree_with_ipfx(name: str, ipfx: dict) -> None:
    sweep = CASES[name]
    spikes = sweep.spikes
    theirs = ipfx["sweeps"][name]["spikes"]
    assert len(spikes) == len(theirs["threshold_index"]), "not the same spikes"
    dt = sweep.t[1] - sweep.t[0]
    ours = spikes.features()
    for feature in SPIKE_TIMES:
        want = _values(theirs[feature])
        _assert_same_nans(feature, ours[feature], want)
        assert np.nanmax(np.abs(ours[feature] - want), initial=0) <= dt * 1.001, feature
    for feature in SPIKE_VOLTAGES:
        want = _values(theirs[feature])
        _assert_same_nans(feature, ours[feature], want)
        assert np.nanmax(np.abs(ours[feature] - want), initial=0) <= VOLTAGE_MV, feature
    for feature in SPIKE_SHAPES:
        want = _values(theirs[feature]) * (1e3 if SPIKE_FEATURES[feature].unit == "ms" else 1.0)
        _assert_same_nans(feature, ours[feature], want)
        assert np.nanmax(np.abs(ours[feature] / want - 1), initial=0) <= RELATIVE, feature
    assert list(spikes.clipped) == theirs["clipped"]
    assert [t or "nan" for t in spikes.isi_type] == theirs["isi_type"]


def _close(ours: float, theirs: float | None, *, absolute: float | None = None) -> bool:
    theirs = math.nan if theirs is None else theirs
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    if absolute is not None:
        return abs(ours - theirs) <= absolute
    return abs(ours - theirs) <= RELATIVE * abs(theirs) + 1e-9


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_features_agree_with_ipfx(name: str, ipfx: dict) -> None:
    sweep = CASES[name]
    ours = sweep.features()
    theirs = ipfx["sweeps"][name]["sweep"]
    dt = sweep.t[1] - sweep.t[0]
    assert _close(ours["avg_rate"], theirs["avg_rate"])
    assert _close(ours["stim_amp"], theirs["stim_amp"], absolute=0.1)
    assert _close(ours["v_baseline"], theirs["v_baseline"], absolute=VOLTAGE_MV)
    assert _close(ours["peak_deflect"], theirs["peak_deflect"][0], absolute=VOLTAGE_MV)
    if theirs["avg_rate"] > 0:
        assert _close(ours["latency"], theirs["latency"], absolute=dt * 1.001)
        for isi in ("first_isi", "mean_isi", "median_isi"):
            assert _close(ours[isi], theirs[isi] * 1e3, absolute=2e3 * dt * 1.001), isi
        assert _close(ours["isi_cv"], theirs["isi_cv"]) and _close(ours["adapt"], theirs["adapt"])
    # the passive functions themselves, on every sweep (the sweep features keep them to hyperpolarising steps)
    t, v, i, start, end = sweep.t, sweep.v, sweep.i, sweep.start, sweep.end
    assert _close(subthreshold.sag(t, v, i, start, end), theirs["sag"])
    passive = ipfx["sweeps"][name]["subthreshold"]
    assert _close(subthreshold.time_constant(t, v, i, start, end), passive["tau"])
    assert _close(subthreshold.input_resistance([t], [i], [v], start, end), passive["input_resistance"])
    if sweep.is_subthreshold_hyperpolarising:
        assert _close(ours["tau"], passive["tau"] * 1e3) and _close(ours["sag"], theirs["sag"])


def test_cell_features_agree_with_ipfx(ipfx: dict) -> None:
    cell = CellSweeps([CASES[name] for name in LONG_SQUARES], [CASES["synthetic_ramp"]])
    record = ipfx["cells"]["synthetic_cell"]
    for name, value in cell.features().items():
        unit = CELL_FEATURES[name].unit
        absolute = VOLTAGE_MV if unit == "mV" else 2e-5 if unit == "s" else None
        assert not math.isnan(value), name
        assert _close(value, record[name], absolute=absolute), (name, value, record[name])
    assert [[amp, rate] for amp, rate, _ in cell.firing] == record["fi"]
