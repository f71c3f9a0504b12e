"""Plot traces: a few thousand points, every spike peak kept."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from celltypes.science.ephys.downsample import downsample_indexes, trace_payload
from tests.unit.science import ephys_synthetic as synthetic
from tests.unit.science.ephys_real import real_clamp_sweep


def test_real_sweep_keeps_every_spike_peak() -> None:
    sweep = real_clamp_sweep(509881736)
    peaks = sweep.spikes.peak_index
    indexes = downsample_indexes(sweep.v, 500, keep=peaks)
    assert np.all(np.diff(indexes) > 0)
    assert np.isin(peaks, indexes).all()
    assert 500 <= len(indexes) <= 500 + len(peaks)
    assert sweep.v[indexes].max() == sweep.v.max()
    assert (indexes[0], indexes[-1]) == (0, len(sweep.v) - 1)


def test_synthetic_long_sweep_keeps_its_80_peaks_in_4000_points() -> None:
    sweep = synthetic.synthetic_long_sweep()
    assert len(sweep.v) == 2_000_000
    peaks = np.array([int((onset + 0.0006) * 200_000) for onset in sweep.onsets])
    peaks = np.array([p - 400 + np.argmax(sweep.v[p - 400 : p + 400]) for p in peaks])
    indexes = downsample_indexes(sweep.v, 4000, keep=peaks)
    assert len(indexes) <= 4000 + 80 and np.isin(peaks, indexes).all()
    payload = trace_payload(sweep.t, sweep.v, indexes)
    assert len(payload["t"]) == len(payload["v"]) == len(indexes)
    assert len(orjson.dumps(payload)) < 80_000


def test_a_short_trace_is_returned_whole() -> None:
    assert list(downsample_indexes(np.zeros(10), 4000)) == list(range(10))


def test_payload_is_rounded() -> None:
    t = np.array([0.0, 1.23456789e-5, 2.0])
    v = np.array([-70.123456, 30.0, 1 / 3])
    assert trace_payload(t, v, np.array([0, 1, 2])) == {"t": [0.0, 1.2e-05, 2.0], "v": [-70.123, 30.0, 0.333]}


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="n_out"):
        downsample_indexes(np.zeros(100), 2)
    with pytest.raises(ValueError, match="n_out"):
        downsample_indexes(np.zeros(100), 10**6)
    with pytest.raises(ValueError, match="inside the trace"):
        downsample_indexes(np.zeros(100), 10, keep=[100])
    with pytest.raises(ValueError, match="1-D"):
        downsample_indexes(np.zeros((10, 10)), 10)
