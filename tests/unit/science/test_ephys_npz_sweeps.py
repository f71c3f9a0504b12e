"""The five real Allen Long Square sweep windows of the demo data, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from celltypes.science.ephys.npz_sweeps import read_npz_sweep
from celltypes.science.errors import InvalidFileError
from tests.unit.science.ephys_real import REAL_SWEEPS, real_sweep_path


@pytest.mark.parametrize("specimen_id", REAL_SWEEPS)
def test_real_sweep_window_reads_with_its_provenance(specimen_id: int) -> None:
    sweep = read_npz_sweep(real_sweep_path(specimen_id))
    number, amplitude = REAL_SWEEPS[specimen_id]
    assert (sweep.specimen_id, sweep.sweep_number, len(sweep)) == (specimen_id, number, 72_500)
    assert sweep.sampling_rate == pytest.approx(50_000.0)
    assert (sweep.window_start, sweep.window_end) == pytest.approx((0.815, 2.265))
    assert (sweep.stimulus_start, sweep.stimulus_end) == pytest.approx((0.205, 1.20498))
    assert sweep.stimulus_amplitude == pytest.approx(amplitude, abs=1e-4)
    assert sweep.i[0] == 0.0 and sweep.t[-1] == pytest.approx(1.44998)
    assert f"Sweep {number} of specimen {specimen_id}" in sweep.provenance
    assert "815 ms to 2265 ms" in sweep.provenance and "not Allen's NWB file" in sweep.provenance


def test_real_sweep_voltages_are_the_stored_float32_values() -> None:
    path = real_sweep_path(509881736)
    sweep = read_npz_sweep(path)
    with np.load(path) as raw:
        np.testing.assert_array_equal(sweep.v, raw["voltage_mV"].astype(np.float64))
    assert (sweep.v.min(), sweep.v.max()) == (-69.375, pytest.approx(32.031254))


def _write(path: Path, **overrides) -> Path:
    arrays = {
        "voltage_mV": np.full(1000, -70.0, dtype=np.float32),
        "stimulus_uA": np.zeros(1000, dtype=np.float32),
        "dt_ms": np.float64(0.02),
        "stimulus_on_ms": np.float64(2.0),
        "stimulus_off_ms": np.float64(10.0),
        "window_start_ms": np.float64(815.0),
        "specimen_id": np.int64(1),
        "sweep_number": np.int64(2),
    }
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dt_ms": None}, "missing keys dt_ms"),
        ({"voltage_mV": np.zeros(999, dtype=np.float32)}, "equally long"),
        ({"voltage_mV": np.array([np.nan] * 1000)}, "NaN"),
        ({"dt_ms": np.float64(0.0)}, "must be positive"),
        ({"stimulus_off_ms": np.float64(50.0)}, "outside the window"),
        ({"specimen_id": np.array(["x"])}, "finite number"),
        ({"sweep_number": np.array([1, 2], dtype=object)}, "not a readable .npz"),
    ],
    ids=["missing_key", "unequal_lengths", "nan", "zero_dt", "stimulus_outside", "text_id", "pickled_object"],
)
def test_bad_npz_raises_invalid_file_error(tmp_path: Path, overrides: dict, message: str) -> None:
    path = _write(tmp_path / "bad.npz", **overrides)
    with pytest.raises(InvalidFileError, match=message):
        read_npz_sweep(path)


def test_a_file_that_is_not_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sweep.npz"
    path.write_text("voltage_mV,stimulus_uA\n")
    with pytest.raises(InvalidFileError, match="not a readable .npz"):
        read_npz_sweep(path)
