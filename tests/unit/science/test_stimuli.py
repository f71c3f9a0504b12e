"""Stimulus builders: sample positions, values, and the pink-noise generator's exact recipe."""

from __future__ import annotations

import numpy as np
import pytest

from celltypes.science import stimuli
from celltypes.science.errors import ScienceError


def test_long_square_and_ramp_samples():
    square = stimuli.long_square(amplitude=1e-10, start=0.1, duration=0.5, total=1.0, dt=5e-5)
    assert len(square) == 20000
    assert np.flatnonzero(square).tolist() == list(range(2000, 12000))
    ramp = stimuli.ramp(slope=25e-12, start=0.1, duration=0.5, total=1.0, dt=5e-5)
    assert ramp[2000] == 0.0 and ramp[2001] == pytest.approx(25e-12 * 5e-5)
    assert ramp[11999] == pytest.approx(25e-12 * 9999 * 5e-5) and ramp[12000] == 0.0
    with pytest.raises(ScienceError, match="within the 1.0 s stimulus"):
        stimuli.long_square(amplitude=1e-10, start=0.9, duration=0.5, total=1.0, dt=5e-5)


def test_pink_noise_is_seeded_scaled_and_one_over_f():
    epoch = {"start": 0.0, "duration": 2.0, "total": 2.0, "dt": 5e-5}
    noise = stimuli.pink_noise(mean=1e-10, cv=0.4, seed=2018, **epoch)
    assert np.array_equal(noise, stimuli.pink_noise(mean=1e-10, cv=0.4, seed=2018, **epoch))
    assert not np.array_equal(noise, stimuli.pink_noise(mean=1e-10, cv=0.4, seed=2019, **epoch))
    assert noise.mean() == pytest.approx(1e-10, rel=1e-12)
    assert noise.std() == pytest.approx(0.4e-10, rel=1e-12)
    # the draws are PCG64's raw output, the same integers on any machine
    assert np.random.PCG64(2018).random_raw(3).tolist() == [
        8991003797670654996,
        3306454679066173462,
        16797872319188919132,
    ]
    one_second = stimuli.pink_noise(mean=1e-10, cv=0.4, start=0, duration=1, total=1, dt=5e-5, seed=2018)
    assert one_second[:3] == pytest.approx([7.829176113433661e-11, 7.100775434270266e-11, 1.1721962572393973e-10])
    # power falls as 1/f: a slope of -1 in log power vs log frequency
    power = np.abs(np.fft.rfft(noise - noise.mean())) ** 2
    frequencies = np.fft.rfftfreq(len(noise), 5e-5)
    band = (frequencies >= 1) & (frequencies <= 5000)
    slope = np.polyfit(np.log(frequencies[band]), np.log(power[band]), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.05)
