"""GLIF configs and simulator on the demo set's real neuron_configs (no AllenSDK here; see
tests/compat/test_glif_reference.py for the comparison with the SDK's GlifNeuron, which the pinned numbers
below were checked against)."""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

from celltypes.science import stimuli
from celltypes.science.errors import InvalidFileError, ScienceError
from celltypes.science.glif import (
    HAS_NUMBA,
    LEVEL_NAMES,
    MAX_STEPS,
    METHOD_KINDS,
    METHODS,
    GlifConfig,
    kernel,
    load_config,
    rheobase,
    simulate,
)
from tests.glif_cases import (
    LACKING_B_SPIKE,
    OSB_BY_LEVEL,
    OSB_GLIF,
    REPO,
    case_name,
    demo_glif_config_paths,
    osb_body,
    raw_body,
    synthetic_bodies,
)

PLAIN = OSB_GLIF / "480629471" / "neuron_config.json"  # a plain (unwrapped) 2015 file
# Spikes for a 200 pA step from 0.1 to 1.1 s (1.2 s at the config's dt); the AllenSDK gives the same.
SPIKES_AT_200_PA = {1: 27, 2: 59, 3: 97, 4: 17, 5: 42}


def osb(level: int) -> GlifConfig:
    return load_config(OSB_GLIF / OSB_BY_LEVEL[level] / "neuron_config.json")


def square_200_pa(config: GlifConfig) -> np.ndarray:
    return stimuli.long_square(amplitude=200e-12, start=0.1, duration=1.0, total=1.2, dt=config.dt)


def synthetic(level: int = 1, **changes) -> dict:
    """A real OSB config's body with ``changes`` applied (synthetic where changed)."""
    body = copy.deepcopy(osb_body(level))
    for key, value in changes.items():
        body[key] = value
    return body


# --- reading configs ---------------------------------------------------------------------------------------


def test_every_demo_config_loads_except_the_four_lacking_b_spike():
    refused = {}
    paths = demo_glif_config_paths()
    for path in paths:
        try:
            load_config(path)
        except InvalidFileError as error:
            refused[case_name(path)] = str(error)
    assert len(paths) == 97
    assert sorted(refused) == sorted(LACKING_B_SPIKE)
    for message in refused.values():
        assert "threshold_reset_method" in message and "needs parameter b_spike, which this config lacks" in message


def test_the_missing_b_spike_error_names_the_file_and_the_method():
    path = OSB_GLIF / "472308324" / "neuron_config.json"
    with pytest.raises(InvalidFileError) as raised:
        load_config(path)
    assert raised.value.path == str(path)
    assert raised.value.where == "threshold_reset_method.params"
    assert "'three_components' needs parameter b_spike" in str(raised.value)


def test_wrapped_and_plain_files_read_and_write_back_unchanged():
    wrapped = osb(5)
    assert wrapped.model_id == "566283540"
    assert wrapped.El_reference == pytest.approx(-0.07304918416341143)
    assert wrapped.to_dict(wrapped=True) == json.loads((OSB_GLIF / "566283540" / "neuron_config.json").read_text())
    assert GlifConfig.from_dict(wrapped.to_dict()) == GlifConfig.from_dict(wrapped.to_dict(wrapped=False))
    plain = load_config(PLAIN)
    assert plain.model_id is None and plain.El_reference is None
    assert plain.to_dict() == json.loads(PLAIN.read_text())
    assert plain.extra == {"extrapolation_method_name": "endpoints", "dt_multiplier": 10, "type": "GLIF"}
    with pytest.raises(ValueError, match="no model id"):
        plain.to_dict(wrapped=True)


def test_every_demo_config_round_trips():
    for path in demo_glif_config_paths():
        data = json.loads(path.read_text())
        try:
            config = GlifConfig.from_dict(data)
        except InvalidFileError:
            continue
        assert config.to_dict(wrapped=config.model_id is not None) == data, path


def test_teeter_file_names_give_the_level():
    teeter = [path for path in demo_glif_config_paths() if "Teeter" in str(path)]
    assert len(teeter) == 63
    for path in teeter:
        level = int(re.search(r"_GLIF(\d)_neuron_config", path.name).group(1))
        assert load_config(path).level == level, path
    assert osb(4).level_name == LEVEL_NAMES[4] == "LIF-R-ASC"


def test_methods_registry_is_exactly_the_names_in_the_demo_configs():
    used = {kind: set() for kind in METHOD_KINDS}
    for path in demo_glif_config_paths():
        body = raw_body(path)
        for kind in METHOD_KINDS:
            used[kind].add(body[kind]["name"])
    assert {kind: set(METHODS[kind]) for kind in METHOD_KINDS} == used
    assert sum(len(names) for names in used.values()) == 12


def test_the_five_levels_simulated_here_use_every_method():
    used = {(kind, osb(level).method(kind).name) for level in OSB_BY_LEVEL for kind in METHOD_KINDS}
    assert used == {(kind, name) for kind in METHOD_KINDS for name in METHODS[kind]}


@pytest.mark.parametrize(
    ("change", "message", "where"),
    [
        ({"voltage_reset_method": {"name": "halfway", "params": {}}}, "unknown method 'halfway'", "name"),
        ({"voltage_reset_method": {"name": "zero"}}, '{"name": ..., "params": {...}}', "voltage_reset_method"),
        (
            {"voltage_reset_method": {"name": "zero", "params": {"a": 1}}},
            "'zero' takes no parameter a",
            "voltage_reset_method.params",
        ),
        ({"asc_amp_array": [1e-10]}, "has 1 values but asc_tau_array has 2", "asc_amp_array"),
        ({"R_input": 0}, "must be positive", "R_input"),
        ({"C": "big"}, "expected a finite number", "C"),
        ({"th_inf": True}, "expected a finite number", "th_inf"),
        ({"asc_tau_array": [0.01, 0.0]}, "time constants must be positive", "asc_tau_array"),
        ({"spike_cut_length": 2.5}, "whole number of steps", "spike_cut_length"),
        (
            {"threshold_reset_method": {"name": "three_components", "params": {"a_spike": 0.001, "b_spike": 10.0}}},
            "which threshold_dynamics_method 'inf' does not have",
            "threshold_reset_method",
        ),
    ],
)
def test_configs_the_sdk_cannot_run_get_a_clear_error(change, message, where):
    with pytest.raises(InvalidFileError) as raised:
        GlifConfig.from_dict(synthetic(1, **change))
    assert message in str(raised.value)
    assert raised.value.where.endswith(where)


def test_three_components_exact_with_b_voltage_zero_is_refused():
    body = synthetic(5)
    body["threshold_dynamics_method"]["params"]["b_voltage"] = 0
    with pytest.raises(InvalidFileError, match="division by zero"):
        GlifConfig.from_dict(body)


def test_missing_keys_and_bad_wrapping_are_named():
    body = synthetic(1)
    del body["th_adapt"], body["init_voltage"]
    with pytest.raises(InvalidFileError, match="lacks init_voltage, th_adapt"):
        GlifConfig.from_dict(body)
    with pytest.raises(InvalidFileError, match="neither a neuron_config"):
        GlifConfig.from_dict({"1": synthetic(1), "2": synthetic(2)})
    with pytest.raises(InvalidFileError, match="is a JSON object, not list"):
        GlifConfig.from_dict([])


def test_a_file_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "neuron_config.json"
    path.write_text('{"El": 0.0,\n  oops}')
    with pytest.raises(InvalidFileError, match="not JSON") as raised:
        load_config(path)
    assert raised.value.where == "line 2"


# --- simulating --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", sorted(OSB_BY_LEVEL))
def test_spike_counts_at_200_pa(level):
    config = osb(level)
    result = simulate(config, square_200_pa(config))
    assert result.spike_count == SPIKES_AT_200_PA[level]
    assert result.stopped_at_step is None
    assert np.all((result.spike_steps >= 2000) & (result.spike_steps < 22000))
    assert np.array_equal(result.grid_spike_times, result.spike_steps * config.dt)
    # the interpolated crossing lies within a step of the grid time (the SDK's convention: after it)
    assert np.all(np.abs(result.interpolated_spike_times - result.grid_spike_times) <= config.dt)


def lif_steps_to_threshold(config: GlifConfig, current: float, dt: float) -> int:
    """For a LIF at constant current, forward Euler from V=0 gives V_m = V_inf (1 - q^m), q = 1 - G dt / C;
    this is the first m with V_m > th_inf."""
    conductance = 1 / config.R_input
    q = 1 - conductance * dt / config.C
    threshold = config.th_inf * config.coefficient("th_inf")
    return math.ceil(math.log(1 - threshold * conductance / current) / math.log(q))


def test_glif1_spike_steps_follow_from_forward_euler():
    """The first spike is m steps into the square; each later one spike_cut_length + m steps after the last."""
    config = osb(1)
    m = lif_steps_to_threshold(config, 200e-12, config.dt)
    expected = np.arange(2000 + m - 1, 22000, config.spike_cut_length + m)
    result = simulate(config, square_200_pa(config))
    assert np.array_equal(result.spike_steps, expected)
    assert result.voltage[expected[0] + config.spike_cut_length] == 0.0  # reset to zero, written after the cut
    assert np.isnan(result.voltage[expected[0] : expected[0] + config.spike_cut_length]).all()


def test_results_have_the_sdk_shapes_and_nan_during_the_cut():
    config = osb(4)
    result = simulate(config, square_200_pa(config))
    n = len(square_200_pa(config))
    assert result.voltage.shape == result.threshold.shape == (n,)
    assert result.after_spike_currents.shape == (n, 2)
    first = int(result.spike_steps[0])
    cut = slice(first, first + config.spike_cut_length)
    assert np.isnan(result.voltage[cut]).all() and np.isnan(result.after_spike_currents[cut]).all()
    reset = first + config.spike_cut_length
    a, b = config.voltage_reset_method.params["a"], config.voltage_reset_method.params["b"]
    # v_before: the reset voltage is a * V(spike) + b, from the voltage the spike step computed (not recorded)
    assert result.voltage[reset] == pytest.approx(a * result.interpolated_spike_voltage[0] + b, abs=2e-3)
    assert set(result.to_sdk_dict()) == {
        "voltage",
        "threshold",
        "AScurrents",
        "grid_spike_times",
        "interpolated_spike_times",
        "spike_time_steps",
        "interpolated_spike_voltage",
        "interpolated_spike_threshold",
    }


def test_the_spike_cut_stays_in_steps_at_another_dt():
    """At 200 kHz the cut is still spike_cut_length steps (a quarter of the time it is at 50 kHz), as in the SDK."""
    config = osb(1)
    fine = stimuli.long_square(amplitude=200e-12, start=0.1, duration=0.2, total=0.3, dt=5e-6)
    result = simulate(config, fine, dt=5e-6)
    assert result.dt == 5e-6
    m = lif_steps_to_threshold(config, 200e-12, 5e-6)
    assert np.array_equal(result.spike_steps, np.arange(20000 + m - 1, 60000, config.spike_cut_length + m))


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed: only the Python loop exists")
@pytest.mark.parametrize("level", sorted(OSB_BY_LEVEL))
def test_compiled_and_python_loops_give_identical_bits(level):
    config = osb(level)
    noise = stimuli.pink_noise(mean=150e-12, cv=0.4, start=0.05, duration=0.25, total=0.3, dt=config.dt, seed=3)
    compiled = simulate(config, noise).to_sdk_dict()
    python = simulate(config, noise, compiled=False).to_sdk_dict()
    assert len(compiled["spike_time_steps"]) > 0
    for key, value in compiled.items():
        assert np.array_equal(value, python[key], equal_nan=True), key


def test_a_reset_above_threshold_stops_the_run_as_the_sdk_does():
    """Synthetic: a v_before reset to 1 V lands above any threshold; the SDK writes the reset state for 5 more
    steps after the cut and leaves the rest NaN."""
    config = GlifConfig.from_dict(synthetic_bodies()["bad reset"])
    result = simulate(config, square_200_pa(config))
    assert result.spike_count == 1
    resume = int(result.spike_steps[0]) + config.spike_cut_length
    assert result.stopped_at_step == resume + 1
    assert np.all(result.voltage[resume : resume + 6] == 1.0)
    assert np.isnan(result.voltage[resume + 6 :]).all()


def test_without_a_cut_the_reset_is_written_at_the_spike_step():
    config = GlifConfig.from_dict(synthetic_bodies()["no cut"])
    result = simulate(config, square_200_pa(config))
    assert result.spike_count > SPIKES_AT_200_PA[4]
    assert not np.isnan(result.voltage).any()
    first = int(result.spike_steps[0])
    a, b = config.voltage_reset_method.params["a"], config.voltage_reset_method.params["b"]
    assert result.voltage[first] == pytest.approx(a * result.interpolated_spike_voltage[0] + b, abs=2e-3)


def test_non_zero_currents_at_a_none_reset_raise():
    config = GlifConfig.from_dict(synthetic_bodies()["none reset"])
    with pytest.raises(ScienceError, match="'none' met non-zero after-spike currents"):
        simulate(config, square_200_pa(config))


def test_more_than_seven_currents_sum_in_numpys_pairwise_order():
    config = GlifConfig.from_dict(synthetic_bodies()["nine currents"])
    result = simulate(config, square_200_pa(config))
    assert result.after_spike_currents.shape[1] == 9
    assert result.spike_count > 0
    currents = np.array([0.1, 0.2, 0.3, 1e16, -1e16, 0.4, 0.5, 0.6, 0.7])
    assert kernel.pairwise_sum(currents.tolist(), 9) == np.sum(currents) != sum(currents.tolist())
    if HAS_NUMBA:
        python = simulate(config, square_200_pa(config), compiled=False)
        assert np.array_equal(result.voltage, python.voltage, equal_nan=True)


def test_rheobase_of_a_lif_is_th_inf_over_r_input():
    config = osb(1)
    current = rheobase(config)
    assert current == pytest.approx(config.th_inf * config.coefficient("th_inf") / config.R_input, rel=2e-6)
    one_second = np.ones(int(round(1.0 / config.dt)))
    assert simulate(config, current * one_second).spike_count >= 1
    assert simulate(config, 0.9999 * current * one_second).spike_count == 0


def test_rheobase_of_glif5_includes_the_voltage_component():
    config = osb(5)
    lif_estimate = config.th_inf * config.coefficient("th_inf") / config.R_input
    assert rheobase(config) == pytest.approx(1.1020098830864822e-10, rel=1e-5)
    assert rheobase(config) > 1.1 * lif_estimate


@pytest.mark.parametrize(
    ("stimulus", "dt", "message"),
    [
        (np.zeros((2, 3)), None, "1-D"),
        (np.array([0.0, np.nan]), None, "NaN or infinite"),
        (np.zeros(3), 0.0, "positive"),
        (np.zeros(MAX_STEPS + 1), None, "at most"),
    ],
)
def test_bad_stimuli_get_a_clear_error(stimulus, dt, message):
    with pytest.raises(ScienceError, match=message):
        simulate(osb(1), stimulus, dt)


def test_without_numba_the_python_loop_runs_and_agrees():
    """A fresh interpreter where ``import numba`` fails (sys.modules entry None)."""
    code = (
        "import sys; sys.modules['numba'] = None; sys.path.insert(0, sys.argv[1]);"
        "from celltypes.science.glif import HAS_NUMBA, load_config, simulate;"
        "from celltypes.science import stimuli;"
        "config = load_config(sys.argv[2]);"
        "stim = stimuli.long_square(amplitude=200e-12, start=0.1, duration=1.0, total=1.2, dt=config.dt);"
        "print(HAS_NUMBA, simulate(config, stim).spike_count)"
    )
    path = OSB_GLIF / OSB_BY_LEVEL[5] / "neuron_config.json"
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO), str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", str(SPIKES_AT_200_PA[5])]
