"""Run a :class:`GlifConfig` on a stimulus: the AllenSDK's ``GlifNeuron.run``, compiled when numba is there."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ScienceError
from . import kernel
from .config import GlifConfig

# 5 million steps is 100 s at Allen's 50 kHz or 25 s at 200 kHz; the outputs then take about 160 MB.
MAX_STEPS = 5_000_000
_MAX_DOUBLINGS = 60


@dataclass(frozen=True, kw_only=True)
class GlifResult:
    """What ``GlifNeuron.run`` returns, as arrays. Voltages and thresholds are in volts relative to ``El``
    (add the config's ``El_reference`` for the membrane potential); currents in amperes; times in seconds from
    the first sample. Values are NaN during each spike cut. Interpolated spike times, voltages and thresholds
    are the SDK's straight-line crossing of voltage and threshold, computed exactly as the SDK does."""

    dt: float
    voltage: NDArray[np.float64]
    threshold: NDArray[np.float64]
    after_spike_currents: NDArray[np.float64]  # (steps, currents)
    spike_steps: NDArray[np.int64]
    grid_spike_times: NDArray[np.float64]
    interpolated_spike_times: NDArray[np.float64]
    interpolated_spike_voltage: NDArray[np.float64]
    interpolated_spike_threshold: NDArray[np.float64]
    # The SDK stops a run when a reset leaves the voltage above the threshold; the step it stopped at, else None.
    stopped_at_step: int | None = None

    @property
    def spike_count(self) -> int:
        return len(self.spike_steps)

    def to_sdk_dict(self) -> dict[str, NDArray]:
        """The same arrays under the keys of ``GlifNeuron.run``'s dict."""
        return {
            "voltage": self.voltage,
            "threshold": self.threshold,
            "AScurrents": self.after_spike_currents,
            "grid_spike_times": self.grid_spike_times,
            "interpolated_spike_times": self.interpolated_spike_times,
            "spike_time_steps": self.spike_steps,
            "interpolated_spike_voltage": self.interpolated_spike_voltage,
            "interpolated_spike_threshold": self.interpolated_spike_threshold,
        }


def simulate(config: GlifConfig, stimulus: ArrayLike, dt: float | None = None, *, compiled: bool = True) -> GlifResult:
    """Simulate ``config`` driven by ``stimulus`` (amperes, one value per step) at ``dt`` (default: the config's).

    As in the AllenSDK, the spike cut is ``spike_cut_length`` steps whatever the dt, so spike counts depend
    on dt. ``compiled=False`` runs the same loop as plain Python (the path used when numba is missing).
    """
    return _run(config, _stimulus(stimulus), _dt(config, dt), compiled=compiled, max_spikes=-1)


def rheobase(
    config: GlifConfig,
    *,
    dt: float | None = None,
    duration: float = 1.0,
    tolerance: float = 1e-6,
    compiled: bool = True,
) -> float:
    """The smallest step current (A), on from the first sample for ``duration`` seconds, that makes the model
    spike, found by bisection with the simulator to ``tolerance`` relative; the returned amplitude spikes."""
    step_dt = _dt(config, dt)
    n_steps = int(round(duration / step_dt))
    if not 0 < n_steps <= MAX_STEPS:
        raise ScienceError(f"a {duration} s step at dt={step_dt} is {n_steps} steps; allowed 1 to {MAX_STEPS}")
    ones = np.ones(n_steps)

    def spikes(amplitude: float) -> bool:
        return _run(config, ones * amplitude, step_dt, compiled=compiled, max_spikes=1).spike_count > 0

    if spikes(0.0):
        return 0.0
    th_inf = config.th_inf * config.coefficient("th_inf")
    conductance = 1.0 / config.R_input * config.coefficient("G")
    high = max(abs(th_inf - config.El) * conductance, 1e-15)
    low = 0.0
    for _ in range(_MAX_DOUBLINGS):
        if spikes(high):
            break
        low, high = high, high * 2
    else:
        raise ScienceError(f"no spike within {duration} s for step currents up to {high:g} A")
    while high - low > tolerance * high:
        middle = 0.5 * (low + high)
        if spikes(middle):
            high = middle
        else:
            low = middle
    return high


def _dt(config: GlifConfig, dt: float | None) -> float:
    value = config.dt if dt is None else float(dt)
    if not np.isfinite(value) or value <= 0:
        raise ScienceError(f"dt must be a positive number of seconds, got {dt!r}")
    return value


def _stimulus(stimulus: ArrayLike) -> NDArray[np.float64]:
    stim = np.asarray(stimulus, dtype=np.float64)
    if stim.ndim != 1:
        raise ScienceError(f"the stimulus must be one value per step (1-D), got shape {stim.shape}")
    if len(stim) > MAX_STEPS:
        raise ScienceError(f"the stimulus has {len(stim)} steps; at most {MAX_STEPS} are simulated at once")
    if not np.all(np.isfinite(stim)):
        raise ScienceError("the stimulus has NaN or infinite values")
    return stim


def _constants(config: GlifConfig, dt: float) -> dict[str, Any]:
    """Everything constant through a run, with the SDK's expressions. Exponentials use ``math.exp`` (the C
    library's, within an ulp); the SDK's ``np.exp`` gives the same or, with some numpy builds (1.26 with AVX-512),
    a value one ulp away, which moves the SDK's traces by about 1e-13 of their range."""
    cut = config.spike_cut_length
    rate = 1.0 / np.array(config.asc_tau_array, dtype=np.float64)  # the SDK's neuron.k
    conductance = 1.0 / config.R_input * config.coefficient("G")
    capacitance = config.C * config.coefficient("C")
    th_dynamics = config.threshold_dynamics_method
    th_reset = config.threshold_reset_method
    constants: dict[str, Any] = {
        "el": config.El,
        "conductance": conductance,
        "capacitance": capacitance,
        "asc_dynamics": config.method("AScurrent_dynamics_method").code,
        "asc_decay": _exp(-rate * dt),
        "threshold_dynamics": config.method("threshold_dynamics_method").code,
        "th_inf": config.coefficient("th_inf") * config.th_inf,
        "spike_decay": 1.0,
        "voltage_decay": 1.0,
        "inverse_threshold_growth": 1.0,
        "phi": 0.0,
        "a_over_b": 0.0,
        "asc_reset": config.method("AScurrent_reset_method").code,
        "asc_amplitudes": np.array(config.asc_amp_array) * np.array(config.asc_amp_coefficients),
        "asc_retained": np.array(config.AScurrent_reset_method.params.get("r", (1.0,) * len(rate)), dtype=np.float64),
        "asc_decay_through_cut": _exp(-(rate * dt * cut)),
        "voltage_reset": config.method("voltage_reset_method").code,
        "reset_a": config.voltage_reset_method.params.get("a", 0.0),
        "reset_b": config.voltage_reset_method.params.get("b", 0.0),
        "threshold_reset": config.method("threshold_reset_method").code,
        "reset_a_spike": th_reset.params.get("a_spike", 0.0),
        "spike_decay_through_cut": 1.0,
        "spike_cut_length": cut,
    }
    if "b_spike" in th_dynamics.params:
        constants["spike_decay"] = math.exp(-th_dynamics.params["b_spike"] * dt)
    if th_dynamics.name == "three_components_exact":
        a = th_dynamics.params["a_voltage"] * config.coefficient("a")
        b = th_dynamics.params["b_voltage"] * config.coefficient("b")
        constants["voltage_decay"] = math.exp(-conductance * dt / capacitance)
        constants["inverse_threshold_growth"] = 1 / math.exp(b * dt)
        constants["phi"] = a / (b - conductance / capacitance)
        constants["a_over_b"] = a / b
    if "b_spike" in th_reset.params and cut > 0:
        constants["spike_decay_through_cut"] = math.exp(-th_reset.params["b_spike"] * (cut * dt))
    return constants


def _exp(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.array([math.exp(value) for value in values.tolist()], dtype=np.float64)


def _run(config: GlifConfig, stim: NDArray[np.float64], dt: float, *, compiled: bool, max_spikes: int) -> GlifResult:
    n_steps = len(stim)
    n_currents = len(config.asc_tau_array)
    as_arrays = compiled and kernel.HAS_NUMBA
    # Python lists index faster than arrays in plain Python; numba wants arrays.
    sequence = np.ascontiguousarray if as_arrays else _as_list
    constants = {
        key: sequence(value) if isinstance(value, np.ndarray) else value
        for key, value in _constants(config, dt).items()
    }
    buffers = _buffers(n_steps, n_currents, n_steps // (config.spike_cut_length + 1) + 1, as_arrays)
    run = kernel.compiled_run_steps if as_arrays else kernel.run_steps
    n_spikes, status, stopped = run(
        stim=sequence(stim),
        n_steps=n_steps,
        dt=dt,
        init_voltage=config.init_voltage,
        init_threshold=config.init_threshold,
        init_currents=sequence(np.array(config.init_AScurrents, dtype=np.float64)),
        n_currents=n_currents,
        max_spikes=max_spikes,
        **constants,
        **buffers,
    )
    if status == kernel.NONZERO_CURRENTS_AT_NONE_RESET:
        raise ScienceError(
            f"AScurrent_reset_method 'none' met non-zero after-spike currents at step {stopped} "
            "(AScurrent_dynamics_method 'exp' with non-zero init_AScurrents); the AllenSDK raises here too"
        )
    spike_steps = np.asarray(buffers["out_spike_steps"][:n_spikes], dtype=np.int64)
    return GlifResult(
        dt=dt,
        voltage=np.asarray(buffers["out_voltage"], dtype=np.float64),
        threshold=np.asarray(buffers["out_threshold"], dtype=np.float64),
        after_spike_currents=np.asarray(buffers["out_currents"], dtype=np.float64).reshape(n_steps, n_currents),
        spike_steps=spike_steps,
        grid_spike_times=spike_steps * dt,
        interpolated_spike_times=np.asarray(buffers["out_spike_times"][:n_spikes], dtype=np.float64),
        interpolated_spike_voltage=np.asarray(buffers["out_spike_voltage"][:n_spikes], dtype=np.float64),
        interpolated_spike_threshold=np.asarray(buffers["out_spike_threshold"][:n_spikes], dtype=np.float64),
        stopped_at_step=stopped if status == kernel.BAD_RESET else None,
    )


def _buffers(n_steps: int, n_currents: int, max_spikes: int, as_arrays: bool) -> dict[str, Any]:
    """The loop's outputs (NaN until written), spike slots and scratch, under kernel.run_steps's names."""
    traces = {"out_voltage": n_steps, "out_threshold": n_steps, "out_currents": n_steps * n_currents}
    spikes = ("out_spike_times", "out_spike_voltage", "out_spike_threshold")
    scratch = ("currents_now", "currents_next")
    if as_arrays:
        buffers = {name: np.full(size, np.nan) for name, size in traces.items()}
        buffers.update({name: np.zeros(max_spikes) for name in spikes})
        buffers["out_spike_steps"] = np.zeros(max_spikes, dtype=np.int64)
        buffers.update({name: np.zeros(n_currents) for name in scratch})
    else:
        buffers = {name: [math.nan] * size for name, size in traces.items()}
        buffers.update({name: [0.0] * max_spikes for name in spikes})
        buffers["out_spike_steps"] = [0] * max_spikes
        buffers.update({name: [0.0] * n_currents for name in scratch})
    return buffers


def _as_list(values: NDArray[np.float64]) -> list[float]:
    return np.asarray(values, dtype=np.float64).tolist()
