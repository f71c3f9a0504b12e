"""Plot payloads of a sweep (trace_view) and the voltage-clamp test pulse, on synthetic sweeps and a real one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from celltypes.atlas.bundled import DEMO_DIR
from celltypes.science.ephys.downsample import downsample_keeping_tops
from celltypes.science.ephys.npz_sweeps import read_npz_sweep
from celltypes.science.ephys.spikes import detect_spikes
from celltypes.science.ephys.trace_view import (
    MAX_FULL_RESOLUTION,
    analyse_current_clamp,
    current_clamp_view,
    voltage_clamp_view,
    window_of,
)
from celltypes.science.ephys.voltage_clamp import first_test_pulse

REAL = DEMO_DIR / "mackelab_IdentifyMechanisticModels_2020/allen_long_square/specimen_518290966_sweep_57.npz"


def synthetic_test_pulse(resistance_mohm: float, noise_pa: float = 0.0, rate: float = 200_000.0):
    """Synthetic voltage-clamp sweep: a 10 mV, 10 ms command pulse through a pure resistance."""
    n = int(0.1 * rate)
    t = np.arange(n) / rate
    command = np.where((t >= 0.02) & (t < 0.03), 10.0, 0.0)
    rng = np.random.default_rng(7)
    current = 1e3 * command / resistance_mohm
    if noise_pa:
        current = current + rng.normal(0, noise_pa, n)
    return t, command, current


def test_synthetic_test_pulse_gives_its_resistance():
    t, command, current = synthetic_test_pulse(25.0)
    pulse = first_test_pulse(t, command, current)
    assert (pulse.start, round(pulse.end, 6), pulse.amplitude) == (0.02, 0.03, 10.0)
    assert pulse.steady_resolved
    assert pulse.steady_resistance == pytest.approx(25.0) and pulse.peak_resistance == pytest.approx(25.0)


def test_synthetic_gigaseal_is_not_resolved_within_the_noise():
    t, command, current = synthetic_test_pulse(50_000.0, noise_pa=2.0)  # 0.2 pA step in 2 pA noise
    assert not first_test_pulse(t, command, current).steady_resolved


def test_a_command_without_a_step_has_no_test_pulse():
    t = np.arange(1000) / 1e4
    assert first_test_pulse(t, np.zeros(1000), np.zeros(1000)) is None


def test_voltage_clamp_view_never_looks_for_spikes():
    t, command, current = synthetic_test_pulse(10.0)
    payload = voltage_clamp_view(command, current, 200_000.0)
    assert payload["spikes"] is None and payload["clamp"] == "voltage"
    assert payload["test_pulse"]["steady_resistance"] == 10.0
    assert 0.02 in payload["t"] and 0.03 in payload["t"]  # the command's edges are kept


def test_window_bounds():
    assert window_of(1000, 1000.0, 0.5, None, None) == window_of(1000, 1000.0, 0.5, 0.0, 99.0)
    w = window_of(72_500, 50_000.0, 0.815, 1.0, 1.1)
    assert (w.first, w.stop, w.full_resolution) == (9250, 14251, True)
    assert not window_of(72_500, 50_000.0, 0.0, None, None).full_resolution
    assert window_of(MAX_FULL_RESOLUTION, 1.0, 0.0, None, None).full_resolution
    with pytest.raises(ValueError, match="fewer than two samples"):
        window_of(1000, 1000.0, 0.0, 5.0, 6.0)


def test_real_sweep_downsampled_keeps_every_spike_landmark():
    sweep = read_npz_sweep(REAL)
    payload = current_clamp_view(
        sweep.v, sweep.i, sweep.sampling_rate, sweep.stimulus_start, sweep.stimulus_end, offset=sweep.window_start
    )
    t = payload["t"]
    assert len(t) < 6000 and t == sorted(t)
    assert len(payload["spikes"]) > 0
    for spike in payload["spikes"]:
        for name in ("threshold", "peak", "fast_trough"):
            assert payload["response"][t.index(spike[f"{name}_t"])] == round(spike[f"{name}_v"], 3)
    features = {f["name"]: f["value"] for f in payload["sweep_features"]}
    assert features["num_spikes"] == len(payload["spikes"])
    assert round(features["stim_amp"]) == 170


def test_a_zoom_with_the_traces_analysis_at_hand_equals_one_that_finds_it():
    sweep = read_npz_sweep(REAL)
    args = (sweep.v, sweep.i, sweep.sampling_rate, sweep.stimulus_start, sweep.stimulus_end)
    analysis = analyse_current_clamp(*args, sweep.window_start)
    window = {"offset": sweep.window_start, "start": 1.3, "end": 1.4}
    assert current_clamp_view(*args, analysis=analysis, **window) == current_clamp_view(*args, **window)


def test_a_first_paint_before_analysis_keeps_every_spike_peak_of_a_synthetic_2m_sample_sweep():
    """The 10 s, 200 kHz SYNTHETIC sweep drawn before its spikes are found: a few thousand points, each of the 80
    spike peaks (as detection later finds them) among them at its true height, the stimulus edges too."""
    from tests.unit.science.ephys_synthetic import synthetic_long_sweep

    s = synthetic_long_sweep()
    payload = current_clamp_view(s.v, s.i, 200_000.0, s.start, s.end, analyse=False)
    assert payload["spikes"] is None and payload["sweep_features"] is None
    t, response = payload["t"], payload["response"]
    assert len(t) < 6000 and payload["samples"] == 2_000_000
    peaks = detect_spikes(s.t, s.v, s.i, s.start, s.end).peak_index
    assert len(peaks) == 80
    assert all(response[t.index(round(k / 200_000.0, 6))] == round(float(s.v[k]), 3) for k in peaks)
    assert {1.0, 9.0} <= set(t)  # the step's first sample and the first sample after it
    assert len(json.dumps(payload)) < 300_000


def test_downsampling_before_analysis_keeps_every_top_that_reaches_the_floor():
    rate = 50_000.0
    v = np.full(100_000, -70.0)
    tops = np.arange(500, 100_000, 500)  # 199 one-sample tops 10 ms apart: more than 50 points can hold
    v[tops] = 20.0
    v[250] = -40.0  # below the floor: not a spike peak
    chosen = downsample_keeping_tops(v, rate, 50, -30.0, keep=[7])
    assert set(tops) <= set(chosen) and 7 in chosen
    assert len(chosen) < len(tops) + 60
