"""Spike detection and per-spike features on the real Long Square windows and on synthetic sweeps.

Expected real values are ipfx 2.1.2's on the same arrays (tests/compat/test_ephys_ipfx.py checks all of
them against ipfx itself); widths here in ms.
"""

from __future__ import annotations

import numpy as np
import pytest

from celltypes.science.ephys.spikes import SPIKE_FEATURES, SpikeParameters, detect_spikes
from tests.unit.science import ephys_synthetic as synthetic
from tests.unit.science.ephys_real import REAL_SWEEPS, real_clamp_sweep

SPIKE_COUNTS = {509881736: 25, 518290966: 12, 526950199: 22, 555060623: 13, 566517779: 20}


@pytest.fixture(scope="module")
def synthetic_sweeps() -> dict[str, synthetic.SyntheticSweep]:
    return {s.name: s for s in synthetic.synthetic_variety()}


def spikes_of(sweep: synthetic.SyntheticSweep, **params):
    return detect_spikes(sweep.t, sweep.v, sweep.i, sweep.start, sweep.end, SpikeParameters(**params))


@pytest.mark.parametrize("specimen_id", REAL_SWEEPS)
def test_real_sweep_spike_count(specimen_id: int) -> None:
    spikes = real_clamp_sweep(specimen_id).spikes
    assert len(spikes) == SPIKE_COUNTS[specimen_id]
    assert not spikes.clipped.any()
    assert np.all(np.diff(spikes.threshold_index) > 0)
    assert np.all(spikes.peak_index > spikes.threshold_index)


def test_real_first_spike_of_cell_509881736() -> None:
    features = real_clamp_sweep(509881736).spikes.features()
    first = {name: values[0] for name, values in features.items()}
    assert first["threshold_t"] == pytest.approx(0.22922)
    assert first["threshold_v"] == pytest.approx(-41.031253814697266)
    assert first["peak_v"] == 29.75
    assert first["fast_trough_v"] == -43.9375
    assert first["trough_v"] == pytest.approx(-44.218753814697266)
    assert first["upstroke"] == pytest.approx(248.50045743471586, rel=1e-9)
    assert first["downstroke"] == pytest.approx(-66.74823402085492, rel=1e-9)
    assert first["upstroke_downstroke_ratio"] == pytest.approx(3.7229517916095576, rel=1e-9)
    assert first["width"] == pytest.approx(1.06)
    assert first["threshold_i"] == pytest.approx(130.0, abs=1e-4)
    assert np.isnan(first["adp_v"]) and np.isnan(first["slow_trough_v"])


def test_real_sweep_of_cell_526950199_resets_by_detour() -> None:
    spikes = real_clamp_sweep(526950199).spikes
    assert set(spikes.isi_type) == {"detour"}
    first = {name: values[0] for name, values in spikes.features().items()}
    assert first["slow_trough_v"] == -52.0
    assert first["upstroke"] == pytest.approx(436.5780329621715, rel=1e-9)
    assert first["width"] == pytest.approx(0.74)


def test_synthetic_adp_is_found_after_every_spike_but_the_last(synthetic_sweeps) -> None:
    spikes = spikes_of(synthetic_sweeps["synthetic_adp_50khz"])
    assert list(spikes.threshold_index) == [12507, 15007, 19007, 25007, 35007, 47507]
    assert list(spikes.adp_index) == [12683, 15183, 19183, 25183, 35183, -1]
    assert list(spikes.slow_trough_index) == [12751, 15254, 19254, 25257, 35261, -1]
    assert spikes.isi_type == ("detour",) * 6
    assert spikes.features()["adp_v"][0] == pytest.approx(-53.78400624421012)


def test_synthetic_regular_spikes_reset_directly_without_adp(synthetic_sweeps) -> None:
    spikes = spikes_of(synthetic_sweeps["synthetic_regular_50khz"])
    assert len(spikes) == 6 and spikes.isi_type == ("direct",) * 6
    assert (spikes.adp_index == -1).all() and (spikes.slow_trough_index == -1).all()


def test_synthetic_spike_at_the_window_end_is_clipped(synthetic_sweeps) -> None:
    spikes = spikes_of(synthetic_sweeps["synthetic_clipped_last_spike"])
    assert list(spikes.threshold_index) == [15007, 30007, 59987]
    assert list(spikes.clipped) == [False, False, True]
    assert spikes.peak_index[-1] == 59999  # the last sample before the window's end
    features = spikes.features()
    for name in ("trough_v", "fast_trough_v", "downstroke", "width", "upstroke_downstroke_ratio"):
        assert np.isnan(features[name][-1]) and not np.isnan(features[name][0]), name
    assert not np.isnan(features["upstroke"][-1])
    assert spikes.isi_type == ("direct", "direct", "")


def test_synthetic_slow_events_are_not_spikes(synthetic_sweeps) -> None:
    """Broad events peaking more than 5 ms after threshold, with no peak found within 5 ms: dropped."""
    spikes = spikes_of(synthetic_sweeps["synthetic_slow_events"])
    assert len(spikes) == 0
    assert all(len(values) == 0 for values in spikes.features().values())


def test_synthetic_spike_before_a_higher_hump_keeps_its_own_peak(synthetic_sweeps) -> None:
    spikes = spikes_of(synthetic_sweeps["synthetic_spikes_before_humps"])
    assert list(spikes.threshold_index) == [15007, 30007, 45007]
    assert list(spikes.peak_index) == [15031, 30030, 45030]
    assert spikes.features()["peak_v"] == pytest.approx([2.31471993, 2.50877183, 2.54623327])


def test_synthetic_doublet_keeps_both_spikes(synthetic_sweeps) -> None:
    spikes = spikes_of(synthetic_sweeps["synthetic_doublet"])
    assert list(spikes.threshold_index) == [15007, 15132, 30007]


def test_synthetic_sweep_gives_the_same_spikes_at_50_and_200_khz(synthetic_sweeps) -> None:
    slow = spikes_of(synthetic_sweeps["synthetic_regular_50khz"]).features()
    fast = spikes_of(synthetic_sweeps["synthetic_regular_200khz"]).features()
    np.testing.assert_allclose(fast["threshold_t"], slow["threshold_t"], atol=2e-5)
    np.testing.assert_allclose(fast["peak_v"], slow["peak_v"], atol=0.3)
    np.testing.assert_allclose(fast["width"], slow["width"], rtol=0.05)


def test_parameters_change_detection(synthetic_sweeps) -> None:
    sweep = synthetic_sweeps["synthetic_regular_50khz"]
    assert len(spikes_of(sweep, dv_cutoff=1000.0)) == 0
    assert len(spikes_of(sweep, min_peak=50.0)) == 0
    unfiltered = spikes_of(sweep, filter_khz=None)
    assert len(unfiltered) == 6
    assert unfiltered.features()["upstroke"][0] > spikes_of(sweep).features()["upstroke"][0]


def test_a_window_without_spikes_gives_empty_features() -> None:
    sweep = synthetic.synthetic_step_sweep(-50.0)
    spikes = detect_spikes(sweep.t, sweep.v, sweep.i, sweep.start, sweep.end)
    assert len(spikes) == 0 and spikes.features()["width"].shape == (0,)


def test_bad_sweeps_raise_clear_errors() -> None:
    sweep = synthetic.synthetic_step_sweep(150.0, (0.3,))
    broken = sweep.v.copy()
    broken[100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        detect_spikes(sweep.t, broken, sweep.i)
    with pytest.raises(ValueError, match="shape of v"):
        detect_spikes(sweep.t, sweep.v, sweep.i[:-1])
    with pytest.raises(ValueError, match="before it starts"):
        detect_spikes(sweep.t, sweep.v, sweep.i, 1.0, 0.5)
    with pytest.raises(ValueError, match="outside the sweep"):
        detect_spikes(sweep.t, sweep.v, sweep.i, 0.2, 5.0)


def test_spike_feature_registry_names_labels_and_units() -> None:
    assert list(SPIKE_FEATURES) == [
        "threshold_t", "threshold_v", "threshold_i", "peak_t", "peak_v", "trough_t", "trough_v",
        "fast_trough_t", "fast_trough_v", "adp_t", "adp_v", "slow_trough_t", "slow_trough_v",
        "upstroke", "downstroke", "upstroke_downstroke_ratio", "width",
    ]  # fmt: skip
    units = {name: f.unit for name, f in SPIKE_FEATURES.items()}
    assert units["width"] == "ms" and units["upstroke"] == "mV/ms" and units["threshold_t"] == "s"
    assert units["threshold_i"] == "pA" and units["upstroke_downstroke_ratio"] == ""
    assert all(units[n] == "mV" for n in SPIKE_FEATURES if n.endswith("_v"))
    assert len({f.label for f in SPIKE_FEATURES.values()}) == len(SPIKE_FEATURES)
    assert all(f.definition for f in SPIKE_FEATURES.values())
