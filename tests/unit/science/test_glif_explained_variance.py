"""Allen's explained variance ratio (Teeter et al. 2018) on synthetic spike trains with known answers."""

import numpy as np
import pytest

from celltypes.science.errors import ScienceError
from celltypes.science.glif.explained_variance import (
    convolved_train,
    explained_variance,
    gaussian_kernel,
    spike_indexes,
    spike_train_explained_variance,
)

DT = 1e-3  # s: a 10 ms Gaussian is 100 samples
STEPS = 5000
TRAIN = [400, 1250, 1300, 2600, 4100]  # synthetic spike indexes


def test_the_gaussian_spans_ten_sigmas_sums_to_one_and_is_centred():
    kernel = gaussian_kernel(0.01, DT)
    assert len(kernel) == 100 and kernel.sum() == pytest.approx(1.0)
    assert kernel[49] == kernel[50] == kernel.max()  # even length: centred between the middle two samples
    np.testing.assert_allclose(kernel, kernel[::-1])
    assert kernel[49] / kernel[0] == pytest.approx(np.exp(0.5 * (49.5**2 - 0.5**2) / 100))


def test_the_sparse_convolution_equals_numpys_full_and_centred_convolutions():
    kernel = gaussian_kernel(0.01, DT)
    binary = np.zeros(STEPS)
    binary[TRAIN] = 1
    full = np.convolve(binary, kernel, mode="full")
    np.testing.assert_allclose(convolved_train(TRAIN, STEPS, kernel, full=True), full, atol=1e-15)
    start = (len(kernel) - 1) // 2
    np.testing.assert_allclose(convolved_train(TRAIN, STEPS, kernel, full=False), full[start : start + STEPS])
    assert convolved_train(TRAIN + [400], STEPS, kernel, full=True).sum() == pytest.approx(5.0)  # repeat once


def test_explained_variance_of_two_traces():
    a = np.sin(np.linspace(0, 20, 1000))
    assert explained_variance(a, a) == 1.0
    assert explained_variance(a, a + 3.0) == 1.0  # a constant offset explains all the variance
    assert explained_variance(a, 2 * a) == pytest.approx(0.8)  # (v + 4v - v) / (v + 4v)
    assert explained_variance(a, np.zeros_like(a)) == pytest.approx(0.0)
    assert explained_variance(a, -a) == pytest.approx(-1.0)


def test_a_model_that_spikes_as_identical_repeats_has_ratio_one():
    ev = spike_train_explained_variance([TRAIN, TRAIN, TRAIN], [TRAIN], steps=STEPS, dt=DT)
    assert (ev.data, ev.model, ev.ratio, ev.repeats) == (1.0, 1.0, 1.0, 3)


def test_a_silent_model_explains_nothing():
    ev = spike_train_explained_variance([TRAIN, TRAIN], [[]], steps=STEPS, dt=DT)
    assert ev.model == pytest.approx(0.0) and ev.ratio == pytest.approx(0.0)


def test_one_repeat_silent_the_model_spiking_as_the_other_gives_ratio_one_and_a_quarter():
    # data: repeat A and a silent repeat, so the PSTH is A/2: EV(A, A/2) = 0.8, EV(0, A/2) = 0, mean 0.4;
    # model A: EV(A, A) = 1 and EV(0, A) = 0, mean 0.5; the ratio 0.5 / 0.4
    ev = spike_train_explained_variance([TRAIN, []], [TRAIN], steps=STEPS, dt=DT)
    assert ev.data == pytest.approx(0.4) and ev.model == pytest.approx(0.5) and ev.ratio == pytest.approx(1.25)


def test_jittered_repeats_a_model_a_few_ms_off_scores_high_one_far_off_low():
    rng = np.random.default_rng(7)  # synthetic: 60 spikes, repeats jittered by 2 ms
    base = np.sort(rng.choice(np.arange(200, STEPS - 200), 60, replace=False))
    repeats = [base + rng.integers(-2, 3, size=base.size) for _ in range(3)]
    near = spike_train_explained_variance(repeats, [base + 3], steps=STEPS, dt=DT)
    far = spike_train_explained_variance(repeats, [np.sort(rng.choice(STEPS, 60, replace=False))], steps=STEPS, dt=DT)
    assert 0.9 < near.data < 1.0 and near.ratio > 0.85
    assert far.ratio < 0.3


def test_spike_times_become_the_nearest_sample():
    assert spike_indexes([0.0, 0.10049, 0.1005], 1e-3).tolist() == [0, 100, 100]


@pytest.mark.parametrize(
    ("data", "model", "steps", "message"),
    [
        ([TRAIN], [TRAIN], STEPS, "at least 2 recorded repeats"),
        ([TRAIN, TRAIN], [], STEPS, "at least one model spike train"),
        ([TRAIN, [STEPS]], [TRAIN], STEPS, "spike index 5000 is outside 0..4999"),
        ([[1], [2]], [[1]], 50, "shorter than the Gaussian window"),
    ],
)
def test_bad_input_is_a_clear_error(data, model, steps, message):
    with pytest.raises(ScienceError, match=message):
        spike_train_explained_variance(data, model, steps=steps, dt=DT)
