"""Read the real Allen Long Square sweep windows kept as ``.npz`` in the demo data.

Each file (``mackelab_IdentifyMechanisticModels_2020/allen_long_square/specimen_<id>_sweep_<n>.npz``, see the
demo data's SOURCES.md) holds one window of one sweep of a cell, saved by the AllenSDK's
``NwbDataSet.get_sweep``: ``voltage_mV`` (float32), ``stimulus_uA`` (float32, microamperes), ``dt_ms``,
``stimulus_on_ms`` and ``stimulus_off_ms`` (from the window's first sample), ``window_start_ms`` (from the
sweep's first sample), ``specimen_id`` and ``sweep_number``. It is a piece of a recording, not Allen's NWB
file of the cell: :attr:`NpzSweep.provenance` says which sweep and which window, for the page to show.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from functools import cached_property
from os import PathLike

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidFileError

ARRAY_KEYS = ("voltage_mV", "stimulus_uA")
SCALAR_KEYS = ("dt_ms", "stimulus_on_ms", "stimulus_off_ms", "window_start_ms", "specimen_id", "sweep_number")
MAX_SAMPLES = 50_000_000  # a 250 s sweep at 200 kHz; refuse anything bigger than a real sweep


@dataclass(frozen=True, eq=False)
class NpzSweep:
    """One window of one current-clamp sweep. Times in s, v in mV, i in pA."""

    specimen_id: int
    sweep_number: int
    sampling_rate: float  # Hz
    v: NDArray[np.float64]  # mV
    i: NDArray[np.float64]  # pA
    window_start: float  # s after the sweep's first sample
    stimulus_start: float  # s after the window's first sample
    stimulus_end: float  # s after the window's first sample (the last sample of the step)
    path: str

    def __len__(self) -> int:
        return len(self.v)

    @cached_property
    def t(self) -> NDArray[np.float64]:
        """Time of each sample, s after the window's first sample."""
        return np.arange(len(self.v)) / self.sampling_rate

    @property
    def window_end(self) -> float:
        """s after the sweep's first sample, just past the window's last sample."""
        return self.window_start + len(self.v) / self.sampling_rate

    @property
    def stimulus_amplitude(self) -> float:
        """Step amplitude (pA): the current at the middle of the step."""
        return float(self.i[int(round((self.stimulus_start + self.stimulus_end) / 2 * self.sampling_rate))])

    @property
    def provenance(self) -> str:
        return (
            f"Sweep {self.sweep_number} of specimen {self.specimen_id}: the samples from "
            f"{self.window_start * 1e3:g} ms to {self.window_end * 1e3:g} ms after the sweep's first sample, "
            f"at {self.sampling_rate / 1e3:g} kHz, as saved with the AllenSDK by Gonçalves et al. 2020 "
            "(not Allen's NWB file)."
        )


def read_npz_sweep(path: str | PathLike) -> NpzSweep:
    """Read one sweep window; raise :class:`InvalidFileError` naming the key at fault."""
    where = str(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ARRAY_KEYS + SCALAR_KEYS if k not in data.files]
            if missing:
                raise InvalidFileError(where, f"missing keys {', '.join(missing)}")
            scalars = {k: _scalar(where, k, data[k]) for k in SCALAR_KEYS}
            shapes = {k: data[k].shape for k in ARRAY_KEYS}
            if any(len(s) != 1 for s in shapes.values()) or len(set(shapes.values())) != 1:
                raise InvalidFileError(where, f"voltage and stimulus must be 1-D and equally long (got {shapes})")
            if not 0 < shapes["voltage_mV"][0] <= MAX_SAMPLES:
                raise InvalidFileError(where, f"{shapes['voltage_mV'][0]} samples", "voltage_mV")
            v = data["voltage_mV"].astype(np.float64)
            i = data["stimulus_uA"].astype(np.float64) * 1e6
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InvalidFileError(where, f"not a readable .npz file ({error})") from error
    for key, values in (("voltage_mV", v), ("stimulus_uA", i)):
        if not np.all(np.isfinite(values)):
            raise InvalidFileError(where, "holds NaN or infinite values", key)
    dt = scalars["dt_ms"] * 1e-3
    if not dt > 0:
        raise InvalidFileError(where, f"sampling interval must be positive (got {scalars['dt_ms']} ms)", "dt_ms")
    on, off = scalars["stimulus_on_ms"] * 1e-3, scalars["stimulus_off_ms"] * 1e-3
    if not 0 <= on < off <= len(v) * dt:
        raise InvalidFileError(where, f"stimulus {on} s to {off} s lies outside the window", "stimulus_on_ms")
    return NpzSweep(
        specimen_id=int(scalars["specimen_id"]),
        sweep_number=int(scalars["sweep_number"]),
        sampling_rate=1.0 / dt,
        v=v,
        i=i,
        window_start=scalars["window_start_ms"] * 1e-3,
        stimulus_start=on,
        stimulus_end=off,
        path=where,
    )


def _scalar(where: str, key: str, value: np.ndarray) -> float:
    if value.shape != () or value.dtype.kind not in "iuf" or not math.isfinite(float(value)):
        raise InvalidFileError(where, f"must be a finite number (got {value.dtype} {value.shape})", key)
    return float(value)
