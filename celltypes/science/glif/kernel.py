"""The GLIF time-step loop, one function that runs compiled by numba or as plain Python.

Every step follows the AllenSDK's ``GlifNeuron.run`` (2.16.2) operation for operation: the after-spike
currents, voltage and threshold of step ``i`` come from the state of step ``i - 1`` and the stimulus at ``i``;
a spike is ``voltage > threshold``; the reset values are written ``spike_cut_length`` steps later and the steps
in between stay NaN (the cut is counted in steps, whatever the dt). Everything constant through a run
(``exp`` factors, effective coefficients) is computed once by the caller, with the SDK's expressions; sums of
the after-spike currents follow numpy's pairwise summation, as ``np.sum`` does in the SDK. Given the same
``exp`` values the two agree bit for bit (checked on all 372 demo runs of tests/compat/test_glif_reference.py
with the SDK's ``np.exp`` swapped for ``math.exp``).

The loop takes indexable sequences: numpy arrays when compiled, Python lists otherwise (faster to index).
"""

from __future__ import annotations

import types

# Method codes. config.METHODS maps each Allen method name onto one of these.
ASC_DYNAMICS_NONE = 0
ASC_DYNAMICS_EXP = 1
VOLTAGE_DYNAMICS_LINEAR_FORWARD_EULER = 0
THRESHOLD_DYNAMICS_INF = 0
THRESHOLD_DYNAMICS_SPIKE_COMPONENT = 1
THRESHOLD_DYNAMICS_THREE_COMPONENTS_EXACT = 2
ASC_RESET_NONE = 0
ASC_RESET_SUM = 1
VOLTAGE_RESET_ZERO = 0
VOLTAGE_RESET_V_BEFORE = 1
THRESHOLD_RESET_INF = 0
THRESHOLD_RESET_THREE_COMPONENTS = 1

# How a run ended.
FINISHED = 0
BAD_RESET = 1  # the reset voltage was above the reset threshold: the SDK stops there
NONZERO_CURRENTS_AT_NONE_RESET = 2  # AScurrent_reset_method "none" met non-zero currents: the SDK raises
MAX_SPIKES_REACHED = 3  # only when the caller asked to stop early (rheobase search)

MAX_CURRENTS = 128  # numpy sums up to 128 values in one block; pairwise_sum follows only that


def pairwise_sum(values, count):
    """numpy's pairwise summation of ``values[:count]``, in its order of additions (so the same bits).

    Only the one block numpy uses up to 128 values; configs are limited to that many after-spike currents.
    """
    if count < 8:
        total = 0.0
        for i in range(count):
            total += values[i]
        return total
    r0 = values[0]
    r1 = values[1]
    r2 = values[2]
    r3 = values[3]
    r4 = values[4]
    r5 = values[5]
    r6 = values[6]
    r7 = values[7]
    whole = count - count % 8
    i = 8
    while i < whole:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += values[i]
        i += 1
    return total


def run_steps(
    stim,
    n_steps,
    dt,
    init_voltage,
    init_threshold,
    init_currents,
    n_currents,
    el,
    conductance,
    capacitance,
    asc_dynamics,
    asc_decay,
    threshold_dynamics,
    th_inf,
    spike_decay,
    voltage_decay,
    inverse_threshold_growth,
    phi,
    a_over_b,
    asc_reset,
    asc_amplitudes,
    asc_retained,
    asc_decay_through_cut,
    voltage_reset,
    reset_a,
    reset_b,
    threshold_reset,
    reset_a_spike,
    spike_decay_through_cut,
    spike_cut_length,
    max_spikes,
    out_voltage,
    out_threshold,
    out_currents,
    out_spike_steps,
    out_spike_times,
    out_spike_voltage,
    out_spike_threshold,
    currents_now,
    currents_next,
):
    """Run the loop, filling the ``out_*`` buffers; returns (spike count, how it ended, step where it ended).

    ``out_currents`` is flat, ``step * n_currents + j``. ``currents_now`` and ``currents_next`` are scratch of
    length ``n_currents``. ``phi`` and ``a_over_b`` belong to three_components_exact, ``spike_decay`` to both
    threshold components, ``spike_decay_through_cut`` is unused when ``spike_cut_length`` is 0.
    """
    for j in range(n_currents):
        currents_now[j] = init_currents[j]
    voltage_t0 = init_voltage
    threshold_t0 = init_threshold
    th_spike = 0.0  # the spike and voltage components of the threshold, relative to th_inf
    th_voltage = 0.0
    n_spikes = 0
    step = 0
    while step < n_steps:
        inj = stim[step]
        # after-spike currents
        if asc_dynamics == ASC_DYNAMICS_EXP:
            for j in range(n_currents):
                currents_next[j] = currents_now[j] * asc_decay[j]
        else:
            for j in range(n_currents):
                currents_next[j] = 0.0
        currents_sum = pairwise_sum(currents_now, n_currents)
        # voltage: linear forward Euler from the previous state
        voltage_t1 = voltage_t0 + (inj + currents_sum - conductance * (voltage_t0 - el)) * dt / capacitance
        # threshold
        if threshold_dynamics == THRESHOLD_DYNAMICS_INF:
            threshold_t1 = th_inf
        elif threshold_dynamics == THRESHOLD_DYNAMICS_SPIKE_COMPONENT:
            th_spike = th_spike * spike_decay
            th_voltage = 0.0
            threshold_t1 = th_spike + th_inf
        else:
            beta = (inj + currents_sum + conductance * el) / conductance
            distance = phi * (voltage_t0 - beta)
            th_voltage = (
                distance * voltage_decay
                + inverse_threshold_growth * (th_voltage - distance - a_over_b * (beta - el) - 0.0)
                + a_over_b * (beta - el)
                + 0.0
            )
            th_spike = th_spike * spike_decay
            threshold_t1 = th_voltage + th_spike + th_inf

        if voltage_t1 > threshold_t1:
            out_spike_steps[n_spikes] = step
            crossing = step * dt + dt * (threshold_t0 - voltage_t0) / (
                (voltage_t1 - voltage_t0) - (threshold_t1 - threshold_t0)
            )
            offset = crossing - (step - 1) * dt
            out_spike_times[n_spikes] = crossing
            out_spike_voltage[n_spikes] = voltage_t0 + (voltage_t1 - voltage_t0) * offset / dt
            out_spike_threshold[n_spikes] = threshold_t0 + (threshold_t1 - threshold_t0) * offset / dt
            n_spikes += 1

            # reset rules, applied to the state just computed
            if asc_reset == ASC_RESET_SUM:
                for j in range(n_currents):
                    currents_now[j] = asc_amplitudes[j] + currents_next[j] * asc_retained[j] * asc_decay_through_cut[j]
            else:
                if pairwise_sum(currents_next, n_currents) != 0.0:
                    return n_spikes, NONZERO_CURRENTS_AT_NONE_RESET, step
                for j in range(n_currents):
                    currents_now[j] = 0.0
            if voltage_reset == VOLTAGE_RESET_V_BEFORE:
                voltage_t0 = reset_a * voltage_t1 + reset_b
            else:
                voltage_t0 = 0.0
            if threshold_reset == THRESHOLD_RESET_THREE_COMPONENTS:
                if spike_cut_length > 0:
                    th_spike = th_spike * spike_decay_through_cut
                th_spike = th_spike + reset_a_spike
                threshold_t0 = th_spike + th_voltage + th_inf
            else:
                threshold_t0 = th_inf
            bad_reset = voltage_t0 > threshold_t0

            if spike_cut_length > 0:
                resume = step + spike_cut_length
                if resume < n_steps:
                    out_voltage[resume] = voltage_t0
                    out_threshold[resume] = threshold_t0
                    for j in range(n_currents):
                        out_currents[resume * n_currents + j] = currents_now[j]
                step = resume + 1
            else:
                out_voltage[step] = voltage_t0
                out_threshold[step] = threshold_t0
                for j in range(n_currents):
                    out_currents[step * n_currents + j] = currents_now[j]
                step += 1

            if bad_reset:
                for k in range(step, min(step + 5, n_steps)):
                    out_voltage[k] = voltage_t0
                    out_threshold[k] = threshold_t0
                    for j in range(n_currents):
                        out_currents[k * n_currents + j] = currents_now[j]
                return n_spikes, BAD_RESET, step
            if n_spikes == max_spikes:
                return n_spikes, MAX_SPIKES_REACHED, step
        else:
            out_voltage[step] = voltage_t1
            out_threshold[step] = threshold_t1
            for j in range(n_currents):
                out_currents[step * n_currents + j] = currents_next[j]
                currents_now[j] = currents_next[j]
            voltage_t0 = voltage_t1
            threshold_t0 = threshold_t1
            step += 1
    return n_spikes, FINISHED, step


def _compile():
    """``run_steps`` compiled by numba (calling a compiled ``pairwise_sum``), or None without numba."""
    try:
        import numba
    except ImportError:
        return None
    # error_model="numpy": a division by zero gives inf/nan as the SDK's numpy floats do, not an exception.
    namespace = dict(globals())
    namespace["pairwise_sum"] = _jit(numba, pairwise_sum)
    twin = types.FunctionType(run_steps.__code__, namespace, run_steps.__name__)
    twin.__qualname__ = run_steps.__qualname__
    return _jit(numba, twin)


def _jit(numba, function):
    try:
        return numba.njit(function, error_model="numpy", cache=True)
    except RuntimeError:  # numba found no writable cache directory
        return numba.njit(function, error_model="numpy")


compiled_run_steps = _compile()
HAS_NUMBA = compiled_run_steps is not None
