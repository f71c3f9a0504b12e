"""What MIES's NWB 1 and NWB 2 files share: the lab notebook, and sweeps paired by channel."""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from .hdf5 import H5File, text, texts
from .records import Sweep
from .series import Series, build_sweep, headstage, pair_series
from .stimulus import StimulusOntology

# Sweep number -> [(HDF5 path of a series, channel number)]
SeriesByNumber = dict[int, list[tuple[str, int]]]


class LabNotebook:
    """MIES ``/general/labnotebook/<device>``: last non-empty value of a key for a sweep (ipfx rules).

    Values are looked up in the headstage's layer first, then in the headstage-independent last layer.
    """

    def __init__(self, f: H5File) -> None:
        self.ok = False
        self._tables: dict[bool, tuple[list[str], NDArray, NDArray] | None] = {}
        root = f.group("general/labnotebook", required=False)
        if root is None:
            return
        devices = [k for k in root if isinstance(root.get(k), h5py.Group)]
        if not devices:
            return
        self._f, self._base = f, f"general/labnotebook/{devices[0]}"
        self.ok = True

    def _table(self, numeric: bool) -> tuple[list[str], NDArray, NDArray] | None:
        """(keys, values[rows, keys, layers], sweep number per row), read once."""
        if numeric not in self._tables:
            self._tables[numeric] = self._load(numeric)
        return self._tables[numeric]

    def _load(self, numeric: bool) -> tuple[list[str], NDArray, NDArray] | None:
        prefix = "numerical" if numeric else "textual"
        keys_value = self._f.value(f"{self._base}/{prefix}Keys")
        values = self._f.value(f"{self._base}/{prefix}Values")
        if keys_value is None or values is None or np.ndim(keys_value) != 2 or np.ndim(values) != 3:
            return None
        keys = texts(keys_value[0])
        sweep_key = "SweepNum" if "SweepNum" in keys else "Sweep #" if "Sweep #" in keys else None
        if sweep_key is None or values.shape[1] != len(keys):
            return None
        raw = values[:, keys.index(sweep_key), 0]
        if numeric:
            sweeps = np.where(np.isfinite(raw), raw, -1).astype(np.int64)
        else:
            stripped = [(text(v) or "").strip() for v in raw]
            sweeps = np.array([int(t) if t.isdigit() else -1 for t in stripped], dtype=np.int64)
        return keys, values, sweeps

    def _lookup(self, numeric: bool, key: str, sweep: int, headstage: int) -> Any:
        if not self.ok:
            return None
        table = self._table(numeric)
        if table is None or key not in table[0]:
            return None
        keys, values, sweeps = table
        rows = values[sweeps == sweep, keys.index(key), :]
        for layer in dict.fromkeys((headstage, values.shape[2] - 1)):
            if layer >= values.shape[2]:
                continue
            column = rows[:, layer]
            if numeric:
                present = column[np.isfinite(column)]
                if len(present):
                    return float(present[-1])
            else:
                found = [t for t in ((text(v) or "") for v in column) if t]
                if found:
                    return found[-1]
        return None

    def numeric(self, key: str, sweep: int, headstage: int = 0) -> float | None:
        return self._lookup(True, key, sweep, headstage)

    def text(self, key: str, sweep: int, headstage: int = 0) -> str | None:
        return self._lookup(False, key, sweep, headstage)


def _description(f: H5File, response: Series, notebook: LabNotebook, number: int) -> str:
    for name in ("stimulus_description", "aibs_stimulus_description"):
        stored = f.text(f"{response.group}/{name}")
        if stored:
            return stored
    stored = text(f.attr(f.h[response.group], "stimulus_description"))
    if stored:
        return stored
    return notebook.text("Stim Wave Name", number, headstage(response.electrode)) or ""


def paired_sweeps(
    f: H5File,
    responses: SeriesByNumber,
    stimuli: SeriesByNumber,
    ontology: StimulusOntology | None,
    *,
    nwb1: bool,
    only: int | None = None,
) -> list[Sweep]:
    """Sweeps of a MIES recording (all, or sweep ``only``): each response paired with its stimulus by channel."""
    notebook = LabNotebook(f)
    sweeps = []
    for number in sorted(responses) if only is None else [only]:
        for response, stimulus in pair_series(f, number, responses[number], stimuli.get(number, []), nwb1=nwb1):
            description = _description(f, response, notebook, number)
            sweeps.append(build_sweep(f, number, response, stimulus, description, ontology, notebook=notebook))
    return sweeps
