"""The Bessel filter and dV/dt behind every spike feature: equal to scipy's, computed without scipy."""

from __future__ import annotations

import numpy as np
import pytest

from celltypes.science.ephys.timeseries import (
    BesselLowpass,
    bessel_filtfilt,
    bessel_lowpass,
    calculate_dvdt,
    check_time,
    time_index,
)

# scipy.signal.bessel(4, wn, "low") for wn = 10 kHz / 25 kHz and 10 kHz / 100 kHz (scipy 1.17.1)
SCIPY_BESSEL = {
    (10e3, 50e3): (
        [0.039277641267493425, 0.1571105650699737, 0.23566584760496057, 0.1571105650699737, 0.039277641267493425],
        [1.0, -0.7005030554063658, 0.4278977562758012, -0.11296969427337678, 0.014017253683834972],
    ),
    (10e3, 200e3): (
        [0.00038885893606424425, 0.001555435744256977, 0.0023331536163854654, 0.001555435744256977,
         0.00038885893606424425],
        [1.0, -3.0659488215753785, 3.5737874528561724, -1.8744115644767387, 0.3727946761729731],
    ),
}  # fmt: skip


def _lfilter(b: np.ndarray, a: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Direct form II transposed, sample by sample, as scipy.signal.lfilter computes it."""
    state = list(zi)
    out = np.empty(len(x))
    for n, xn in enumerate(x):
        y = b[0] * xn + state[0]
        for k in range(len(state) - 1):
            state[k] = b[k + 1] * xn + state[k + 1] - a[k + 1] * y
        state[-1] = b[-1] * xn - a[-1] * y
        out[n] = y
    return out


def _reference_filtfilt(b: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """scipy.signal.filtfilt's algorithm written out: odd padding of 15, steady-state initial conditions."""
    order = len(a) - 1
    companion = np.zeros((order, order))
    companion[0] = -a[1:]
    companion[1:, :-1] = np.eye(order - 1)
    zi = np.linalg.solve(np.eye(order) - companion.T, b[1:] - a[1:] * b[0])
    pad = 3 * len(a)
    ext = np.concatenate((2 * x[0] - x[pad:0:-1], x, 2 * x[-1] - x[-2 : -pad - 2 : -1]))
    forward = _lfilter(b, a, ext, zi * ext[0])
    backward = _lfilter(b, a, forward[::-1], zi * forward[-1])[::-1]
    return backward[pad:-pad]


@pytest.mark.parametrize(("cutoff", "rate"), list(SCIPY_BESSEL), ids=["10kHz_at_50kHz", "10kHz_at_200kHz"])
def test_bessel_lowpass_has_scipys_coefficients(cutoff: float, rate: float) -> None:
    b, a = bessel_lowpass(cutoff, rate)
    want_b, want_a = SCIPY_BESSEL[(cutoff, rate)]
    np.testing.assert_allclose(b, want_b, rtol=1e-13)
    np.testing.assert_allclose(a, want_a, rtol=1e-13, atol=1e-15)


def test_bessel_filtfilt_matches_scipy_on_a_short_signal() -> None:
    """scipy.signal.filtfilt(*bessel(4, 0.4), x) printed by scipy 1.17.1, at samples 0, 1, 19, 38, 39."""
    x = np.sin(np.arange(40) * 0.7) + np.arange(40) * 0.05
    (out,) = bessel_filtfilt(x, 50e3, 10e3)
    want = [4.1116274909075434e-07, 0.48788808005264245, 1.4051208803757849, 2.6174749264391726, 2.7773447088926324]
    np.testing.assert_allclose(out[[0, 1, 19, 38, 39]], want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("rate", "cutoff", "n"),
    [(50e3, 10e3, 600), (50e3, 1e3, 2000), (200e3, 10e3, 900), (10e3, 1e3, 300)],
    ids=["10kHz_at_50kHz", "1kHz_at_50kHz", "10kHz_at_200kHz", "1kHz_at_10kHz"],
)
def test_bessel_filtfilt_equals_the_recursive_filter(rate: float, cutoff: float, n: int) -> None:
    """A synthetic random walk with steps: the FFT form agrees with filtfilt's recursion to 1e-9 mV.

    (The rounded coefficients of a 1 kHz filter at 50 kHz have a DC gain of 1 + 1.6e-12, which the
    recursion applies to the -65 mV level and the FFT form, restoring the level exactly, does not.)
    """
    x = np.cumsum(np.random.default_rng(3).normal(0, 1, n)) - 65.0
    x[n // 3 :] += 20.0
    (ours,) = bessel_filtfilt(x, rate, cutoff)
    b, a = bessel_lowpass(cutoff, rate)
    np.testing.assert_allclose(ours, _reference_filtfilt(b, a, x), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diff(ours), np.diff(_reference_filtfilt(b, a, x)), rtol=0, atol=1e-11)


def test_bessel_filtfilt_serves_several_cutoffs_from_one_transform() -> None:
    x = np.cumsum(np.random.default_rng(4).normal(0, 1, 700))
    both = bessel_filtfilt(x, 50e3, 10e3, 1e3)
    assert [len(y) for y in both] == [700, 700]
    np.testing.assert_allclose(both[1], bessel_filtfilt(x, 50e3, 1e3)[0], atol=1e-12)


def test_prepared_lowpass_filters_on_demand_only_at_its_cutoffs() -> None:
    x = np.cumsum(np.random.default_rng(5).normal(0, 1, 700))
    lowpass = BesselLowpass(x, 50e3, (10e3,))
    np.testing.assert_array_equal(lowpass(10e3), bessel_filtfilt(x, 50e3, 10e3)[0])
    with pytest.raises(ValueError, match="not among the cutoffs"):
        lowpass(1e3)


def test_bessel_filtfilt_keeps_a_constant_and_is_zero_phase() -> None:
    flat = np.full(500, -70.0)
    np.testing.assert_allclose(bessel_filtfilt(flat, 50e3, 10e3)[0], flat, atol=1e-12)
    pulse = np.zeros(501)
    pulse[250] = 1.0
    (smooth,) = bessel_filtfilt(pulse, 50e3, 10e3)
    assert np.argmax(smooth) == 250
    np.testing.assert_allclose(smooth[250 - 40 : 250], smooth[251 : 251 + 40][::-1], atol=1e-15)


def test_bessel_lowpass_refuses_a_cutoff_above_nyquist() -> None:
    with pytest.raises(ValueError, match="below the Nyquist frequency"):
        bessel_lowpass(10e3, 20e3)


def test_dvdt_is_in_mv_per_ms() -> None:
    """A synthetic 2 mV/ms ramp sampled at 50 kHz."""
    t = np.arange(1000) / 50e3
    v = -70.0 + 2.0 * t * 1e3
    np.testing.assert_allclose(calculate_dvdt(t, v, None), 2.0, rtol=1e-9)
    np.testing.assert_allclose(calculate_dvdt(t, v, 10.0)[20:-20], 2.0, rtol=1e-9)


def test_time_index_is_the_nearest_sample_first_on_ties() -> None:
    t = np.arange(100) / 50e3
    assert time_index(t, 0.0) == 0
    assert time_index(t, t[-1]) == 99
    assert time_index(t, 0.000409) == 20
    assert time_index(t, 0.00041) == int(np.argmin(np.abs(t - 0.00041)))
    with pytest.raises(ValueError, match="outside the sweep"):
        time_index(t, 0.5)


def test_check_time_refuses_uneven_or_mismatched_samples() -> None:
    t = np.arange(100) / 50e3
    assert check_time(t, np.zeros(100)) == pytest.approx(2e-5)
    with pytest.raises(ValueError, match="same length"):
        check_time(t, np.zeros(99))
    uneven = t.copy()
    uneven[50:] += 1e-3
    with pytest.raises(ValueError, match="uniformly sampled"):
        check_time(uneven, np.zeros(100))
    with pytest.raises(ValueError, match="at least"):
        check_time(t[:10], np.zeros(10))
