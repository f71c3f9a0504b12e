"""Intracellular ephys NWB files: read three layouts, write the Allen released NWB 1 layout.

Layouts read (all HDF5, plain h5py):

* ``mies-nwb1``: raw MIES NWB 1.0.x, ``/acquisition/timeseries/data_NNNNN_ADk`` (response) and
  ``/stimulus/presentation/data_NNNNN_DAk`` (stimulus), plus the MIES lab notebook.
* ``allen-nwb1``: the Allen Cell Types Database download, ``/epochs/Sweep_N/{stimulus,response}`` linking
  ``/stimulus/presentation/Sweep_N`` and ``/acquisition/timeseries/Sweep_N`` (what AllenSDK's
  ``NwbDataSet`` reads), ``aibs_*`` sweep metadata and ``/analysis/spike_times``.
* ``nwb2``: NWB 2.x icephys, ``*ClampSeries`` groups in ``/acquisition`` and ``/stimulus/presentation`` with
  ``sweep_number`` / ``stimulus_description`` attributes.

Traces are returned in SI units (volts, amps) as float64; only stimulus samples are read to build the
sweep metadata, responses are read when first asked for. Stimulus amplitudes follow the Allen
``EphysSweep`` convention: pA when ``stimulus_units == "Amps"``, mV when ``"Volts"``. Broken input raises
:class:`InvalidFileError` naming the HDF5 object at fault.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import h5py
import numpy as np
from numpy.typing import NDArray

from .errors import InvalidFileError

LAYOUT_MIES_NWB1 = "mies-nwb1"
LAYOUT_ALLEN_NWB1 = "allen-nwb1"
LAYOUT_NWB2 = "nwb2"

CURRENT_CLAMP = "CurrentClamp"
VOLTAGE_CLAMP = "VoltageClamp"
IZERO_CLAMP = "IZeroClamp"

AMPS = "Amps"
VOLTS = "Volts"
UNKNOWN_STIMULUS = "Unknown"

DEFAULT_ONTOLOGY_PATH = (
    Path(__file__).resolve().parent.parent / "atlas/demo_data/ipfx/ipfx/defaults/stimulus_ontology.json"
)

# Allen's NWB 1 converter: the test pulse epoch is the first 0.1 s, the experiment starts at 0.75 s.
ALLEN_TEST_PULSE_LENGTH = 0.1
ALLEN_EXPERIMENT_START_TIME = 0.75
# Without a lab notebook, a first pulse that ends this early (s) is taken for MIES's inserted test pulse.
TEST_PULSE_MAX_END = 0.25

_DISPLAY_SCALE = {AMPS: 1e12, VOLTS: 1e3}  # SI -> pA / mV
_MIES_ACQ = re.compile(r"^data_(\d+)_AD(\d+)$")
_MIES_STIM = re.compile(r"^data_(\d+)_DA(\d+)$")
_ALLEN_SWEEP = re.compile(r"^Sweep_(\d+)$")
_PLACEHOLDERS = {"", "PLACEHOLDER", "N/A", "NA", "none", "None"}
_SERIES_CLAMP = {
    "CurrentClampSeries": CURRENT_CLAMP,
    "VoltageClampSeries": VOLTAGE_CLAMP,
    "IZeroClampSeries": IZERO_CLAMP,
    "CurrentClampStimulusSeries": CURRENT_CLAMP,
    "VoltageClampStimulusSeries": VOLTAGE_CLAMP,
}
_ANCESTRY = {
    CURRENT_CLAMP: (("CurrentClampSeries",), ("CurrentClampStimulusSeries",)),
    VOLTAGE_CLAMP: (("VoltageClampSeries",), ("VoltageClampStimulusSeries",)),
    IZERO_CLAMP: (("CurrentClampSeries", "IZeroClampSeries"), ("CurrentClampStimulusSeries",)),
}

PathLike = str | os.PathLike[str]


# --------------------------------------------------------------------------------------------------
# Stimulus ontology (ipfx stimulus_ontology.json)


class StimulusOntology:
    """Stimulus codes (``C1LSCOARSE150216``) to stimulus names (``Long Square``), as in ipfx.

    The JSON is a list of records, each a list of tag sets ``[tag_type, value, ...]``; every ``code`` value
    of a record maps to the record's ``name``. A code missing from the ontology is ``"Unknown"`` (ipfx).
    """

    def __init__(self, records: list[list[list[str]]], source: str | None = None) -> None:
        self.source = source
        self._names: dict[str, str] = {}
        for record in records:
            names = [tags[1] for tags in record if tags and tags[0] == "name" and len(tags) > 1]
            if not names:
                continue
            for tags in record:
                if tags and tags[0] == "code":
                    for code in tags[1:]:
                        self._names.setdefault(code, names[0])

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, code: object) -> bool:
        return code in self._names

    def name_for(self, code: str) -> str:
        return self._names.get(code, UNKNOWN_STIMULUS)


def load_stimulus_ontology(path: PathLike = DEFAULT_ONTOLOGY_PATH) -> StimulusOntology:
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)
    except json.JSONDecodeError as exc:
        raise InvalidFileError(path, f"not valid JSON ({exc.msg})", where=f"line {exc.lineno}") from exc
    if not isinstance(records, list):
        raise InvalidFileError(path, "expected a JSON list of stimulus records")
    for index, record in enumerate(records):
        if not isinstance(record, list) or not all(
            isinstance(tags, list) and tags and all(isinstance(t, str) for t in tags) for tags in record
        ):
            raise InvalidFileError(path, "a record must be a list of [tag_type, value, ...]", f"record {index}")
    return StimulusOntology(records, source=path)


def stimulus_code(description: str) -> str:
    """``EXTPSMOKET180424_DA_0`` or ``C1LSCOARSE150216[3]`` -> the ontology code (ipfx rules)."""
    code = re.sub(r"_DA_\d+$", "", description.strip())
    return code.split("[")[0]


def _resolve_ontology(ontology: StimulusOntology | PathLike | None) -> StimulusOntology | None:
    if isinstance(ontology, StimulusOntology):
        return ontology
    if ontology is not None:
        return load_stimulus_ontology(ontology)
    if DEFAULT_ONTOLOGY_PATH.exists():
        return load_stimulus_ontology(DEFAULT_ONTOLOGY_PATH)
    return None


# --------------------------------------------------------------------------------------------------
# Stimulus waveform analysis


@dataclass(frozen=True)
class StimulusEpoch:
    """The stimulus after the test pulse, in Allen EphysSweep terms (amplitude in pA or mV)."""

    amplitude: float
    start_time: float | None
    duration: float | None
    interval: float | None
    start_index: int | None
    end_index: int | None
    test_pulse: bool


def analyse_stimulus(
    stimulus: NDArray, sampling_rate: float, stimulus_units: str, test_pulse: bool | None = None
) -> StimulusEpoch:
    """Locate the stimulus epoch (ipfx ``get_stim_characteristics``, Allen duration convention).

    ``test_pulse=None`` guesses: a first pulse ending within 0.25 s is MIES's inserted test pulse.
    The amplitude is the signed extreme in the epoch; the duration is ``(end - start) / rate`` as in the
    released EphysSweep table (1 s square -> 0.999995 s at 200 kHz); the interval is the onset spacing of
    an evenly spaced pulse train, else ``None``. No stimulus after the test pulse -> amplitude 0.
    """
    values = np.asarray(stimulus)
    changes = np.flatnonzero(np.diff(values))
    if test_pulse is None:
        test_pulse = len(changes) >= 2 and changes[1] < TEST_PULSE_MAX_END * sampling_rate
    epoch_changes = changes[2:] if test_pulse else changes
    if len(epoch_changes) == 0:
        return StimulusEpoch(0.0, None, None, None, None, None, bool(test_pulse))
    start = int(epoch_changes[0]) + 1
    baseline = values[start - 1]
    end = int(epoch_changes[-1])
    if values[-1] != baseline:  # the last step never returns to baseline: it runs to the end of the sweep
        end = len(values) - 1
    if end < start:
        end = start
    epoch = values[start : end + 1]
    high, low = float(epoch.max()), float(epoch.min())
    peak = high if abs(high) > abs(low) else low
    amplitude = _tidy(peak * _DISPLAY_SCALE.get(stimulus_units, 1.0))
    onsets = [int(i) + 1 for i in epoch_changes if values[i] == baseline and values[i + 1] != baseline]
    interval = None
    if len(onsets) >= 2:
        gaps = np.diff(onsets)
        if int(gaps.max()) - int(gaps.min()) <= 1:
            interval = float(np.median(gaps)) / sampling_rate
    return StimulusEpoch(
        amplitude=amplitude,
        start_time=start / sampling_rate,
        duration=(end - start) / sampling_rate,
        interval=interval,
        start_index=start,
        end_index=end,
        test_pulse=bool(test_pulse),
    )


def _tidy(value: float) -> float:
    """Drop float noise of unit conversions (10 mV = 10 * 0.001 V reads back as 10.000000000000002)."""
    return float(f"{value:.9g}") if math.isfinite(value) else value


# --------------------------------------------------------------------------------------------------
# Data classes


@dataclass
class SweepInfo:
    """Sweep metadata only (what the loader stores as an EphysSweep row)."""

    sweep_number: int
    stimulus_name: str
    stimulus_code: str
    stimulus_description: str  # Allen style, "<code>[<set sweep count>]"
    stimulus_units: str  # "Amps" (current clamp) or "Volts" (voltage clamp)
    response_units: str
    clamp_mode: str | None
    sampling_rate: float  # Hz
    num_samples: int
    starting_time: float | None = None  # s on the session clock
    stimulus_absolute_amplitude: float | None = None  # pA for Amps, mV for Volts
    stimulus_start_time: float | None = None  # s from the start of the sweep
    stimulus_duration: float | None = None
    stimulus_interval: float | None = None
    num_spikes: int | None = None
    electrode: str | None = None
    raw_stimulus_description: str = ""  # as stored, e.g. "EXTPSMOKET180424_DA_0"

    @property
    def duration(self) -> float:
        return self.num_samples / self.sampling_rate

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(SweepInfo)}


@dataclass(frozen=True)
class _SeriesRef:
    """Where a trace lives, so it can be read on demand."""

    path: str
    dataset: str
    conversion: float = 1.0
    offset: float = 0.0

    def read(self, handle: h5py.File | None = None) -> NDArray[np.float64]:
        try:
            if handle is None:
                with h5py.File(self.path, "r") as own:
                    raw = own[self.dataset][()]
            else:
                raw = handle[self.dataset][()]
        except FileNotFoundError:
            raise
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise InvalidFileError(self.path, f"cannot read samples ({exc})", where=self.dataset) from exc
        data = np.asarray(raw)
        if data.ndim != 1 or data.dtype.kind not in "iuf":
            raise InvalidFileError(
                self.path,
                f"expected a 1-D numeric dataset, got {data.dtype} {data.shape}",
                where=self.dataset,
            )
        values = data.astype(np.float64) * self.conversion
        if self.offset:
            values = values + self.offset
        return values


@dataclass(eq=False)
class Sweep(SweepInfo):
    """One sweep: metadata plus stimulus and response traces (SI units, read lazily)."""

    spike_times: NDArray[np.float64] | None = field(default=None, repr=False)
    _stimulus_ref: _SeriesRef | None = field(default=None, repr=False)
    _response_ref: _SeriesRef | None = field(default=None, repr=False)
    _cache: dict[str, NDArray[np.float64]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_arrays(cls, stimulus: NDArray, response: NDArray, **metadata: Any) -> Sweep:
        """A sweep held in memory (``num_samples`` defaults to the response length)."""
        metadata.setdefault("num_samples", len(response))
        sweep = cls(**metadata)
        sweep._cache["stimulus"] = _frozen(np.asarray(stimulus, dtype=np.float64).copy())
        sweep._cache["response"] = _frozen(np.asarray(response, dtype=np.float64).copy())
        return sweep

    def _trace(self, kind: str, ref: _SeriesRef | None) -> NDArray[np.float64]:
        if kind not in self._cache:
            if ref is None:
                raise ValueError(f"sweep {self.sweep_number} has no {kind} data")
            self._cache[kind] = _frozen(ref.read())
        return self._cache[kind]

    @property
    def stimulus(self) -> NDArray[np.float64]:
        """Stimulus in A (current clamp) or V (voltage clamp)."""
        return self._trace("stimulus", self._stimulus_ref)

    @property
    def response(self) -> NDArray[np.float64]:
        """Response in V (current clamp) or A (voltage clamp)."""
        return self._trace("response", self._response_ref)

    @property
    def time(self) -> NDArray[np.float64]:
        """Seconds from the first sample."""
        return np.arange(self.num_samples, dtype=np.float64) / self.sampling_rate

    @property
    def data_loaded(self) -> bool:
        return "response" in self._cache

    def info(self) -> SweepInfo:
        return SweepInfo(**self.as_dict())


@dataclass(eq=False)
class NwbRecording:
    path: str
    layout: str  # LAYOUT_*
    nwb_version: str
    name: str  # specimen / cell name
    name_source: str  # HDF5 path it came from, or "file name"
    sweeps: list[Sweep]
    identifier: str | None = None
    session_start_time: str | None = None
    session_description: str | None = None
    specimen_id: int | None = None

    @property
    def sweep_numbers(self) -> list[int]:
        return [s.sweep_number for s in self.sweeps]

    def sweep(self, sweep_number: int) -> Sweep:
        for candidate in self.sweeps:
            if candidate.sweep_number == sweep_number:
                return candidate
        raise KeyError(f"no sweep {sweep_number} in {self.path}")


@dataclass
class NwbSummary:
    path: str
    layout: str
    nwb_version: str
    name: str
    name_source: str
    sweeps: list[SweepInfo]
    identifier: str | None = None
    session_start_time: str | None = None
    specimen_id: int | None = None


def _frozen(array: NDArray) -> NDArray:
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------------------------------
# Low-level HDF5 access with errors that name the object


class _File:
    def __init__(self, handle: h5py.File, path: str) -> None:
        self.h = handle
        self.path = path

    def fail(self, where: str | None, message: str) -> NoReturn:
        raise InvalidFileError(self.path, message, where=where)

    def has(self, name: str) -> bool:
        try:
            return name in self.h
        except (OSError, RuntimeError, KeyError, ValueError):
            return False

    def node(self, name: str, *, kind: type | None = None, required: bool = True) -> Any:
        if not self.has(name):
            if required:
                what = "dataset" if kind is h5py.Dataset else "group" if kind is h5py.Group else "object"
                self.fail(_abs(name), f"missing {what}")
            return None
        try:
            obj = self.h[name]
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            self.fail(_abs(name), f"cannot open ({exc})")
        if kind is not None and not isinstance(obj, kind):
            self.fail(_abs(name), f"expected a {'dataset' if kind is h5py.Dataset else 'group'}")
        return obj

    def group(self, name: str, required: bool = True) -> h5py.Group | None:
        return self.node(name, kind=h5py.Group, required=required)

    def value(self, name: str, required: bool = False) -> Any:
        dataset = self.node(name, kind=h5py.Dataset, required=required)
        if dataset is None:
            return None
        try:
            return dataset[()]
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            self.fail(_abs(name), f"cannot read ({exc})")

    def text(self, name: str) -> str | None:
        return _text(self.value(name))

    def number(self, name: str) -> float | None:
        value = self.value(name)
        if value is None:
            return None
        try:
            number = _as_float(np.asarray(value).reshape(-1)[0])
        except (ValueError, TypeError, IndexError):
            return None
        return number if math.isfinite(number) else None

    def attr(self, obj: h5py.HLObject, key: str, default: Any = None) -> Any:
        try:
            return obj.attrs[key] if key in obj.attrs else default
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            self.fail(f"{obj.name}@{key}", f"cannot read attribute ({exc})")

    def attr_float(self, obj: h5py.HLObject, key: str, default: float | None = None) -> float:
        value = self.attr(obj, key)
        if value is None:
            if default is None:
                self.fail(obj.name, f"missing attribute '{key}'")
            return default
        try:
            return _as_float(value)
        except (ValueError, TypeError, IndexError):
            self.fail(obj.name, f"attribute '{key}' is not a number: {value!r}")

    def keys(self, name: str) -> list[str]:
        group = self.group(name)
        try:
            return list(group.keys())
        except (OSError, RuntimeError) as exc:
            self.fail(_abs(name), f"cannot list ({exc})")


def _abs(name: str) -> str:
    return name if name.startswith("/") else "/" + name


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        value = value.reshape(-1)[0]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _texts(value: Any) -> list[str]:
    return [_text(v) or "" for v in np.asarray(value).reshape(-1)] if value is not None else []


def _as_float(value: Any) -> float:
    """Float from an HDF5 scalar; a float32 is taken at its shortest decimal (1e-12, not 1.00000002e-12)."""
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    if isinstance(value, np.float32 | np.float16):
        return float(str(value))
    return float(value)


def _open(path: PathLike) -> tuple[h5py.File, str]:
    spath = os.fspath(path)
    if not os.path.exists(spath):
        raise FileNotFoundError(spath)
    try:
        return h5py.File(spath, "r"), spath
    except OSError as exc:
        raise InvalidFileError(spath, f"not a readable HDF5 file ({exc})", where="/") from exc


# --------------------------------------------------------------------------------------------------
# MIES lab notebook


class _LabNotebook:
    """MIES ``/general/labnotebook/<device>``: last non-empty value of a key for a sweep (ipfx rules).

    Values are looked up in the headstage's layer first, then in the headstage-independent last layer.
    """

    def __init__(self, f: _File) -> None:
        self.ok = False
        self._tables: dict[bool, tuple[list[str], NDArray, NDArray] | None] = {}
        root = f.group("general/labnotebook", required=False)
        if root is None:
            return
        devices = [k for k in root.keys() if isinstance(root.get(k), h5py.Group)]
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
        keys = _texts(keys_value[0])
        sweep_key = "SweepNum" if "SweepNum" in keys else "Sweep #" if "Sweep #" in keys else None
        if sweep_key is None or values.shape[1] != len(keys):
            return None
        raw = values[:, keys.index(sweep_key), 0]
        if numeric:
            sweeps = np.where(np.isfinite(raw), raw, -1).astype(np.int64)
        else:
            texts = [(_text(v) or "").strip() for v in raw]
            sweeps = np.array([int(t) if t.isdigit() else -1 for t in texts], dtype=np.int64)
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
                present = [t for t in ((_text(v) or "") for v in column) if t]
                if present:
                    return present[-1]
        return None

    def numeric(self, key: str, sweep: int, headstage: int = 0) -> float | None:
        return self._lookup(True, key, sweep, headstage)

    def text(self, key: str, sweep: int, headstage: int = 0) -> str | None:
        return self._lookup(False, key, sweep, headstage)


# --------------------------------------------------------------------------------------------------
# Reading


@dataclass
class _Series:
    group: str  # HDF5 path of the TimeSeries group
    data: str
    units: str
    conversion: float
    offset: float
    rate: float
    starting_time: float | None
    num_samples: int
    series_type: str | None  # e.g. "VoltageClampSeries"
    electrode: str | None


def _normalise_unit(unit: str | None, series_type: str | None, stimulus: bool) -> str:
    text = (unit or "").strip()
    if text[:1] in ("A", "a") or text.lower().startswith("amp"):
        return AMPS
    if text[:1] in ("V", "v"):
        return VOLTS
    clamp = _SERIES_CLAMP.get(series_type or "")
    if clamp is None:
        return text or "Unknown"
    current_stimulus = clamp in (CURRENT_CLAMP, IZERO_CLAMP)
    return AMPS if current_stimulus == stimulus else VOLTS


def _series(f: _File, group_name: str, *, stimulus: bool) -> _Series:
    group = f.group(group_name)
    data_name = f"{group_name}/data"
    data = f.node(data_name, kind=h5py.Dataset)
    if data.ndim != 1:
        f.fail(_abs(data_name), f"expected 1-D samples, got shape {data.shape}")
    if data.dtype.kind not in "iuf":
        f.fail(_abs(data_name), f"expected numeric samples, got {data.dtype}")
    conversion = f.attr_float(data, "conversion", 1.0)
    offset = f.attr_float(data, "offset", 0.0)
    series_type = _series_type(f, group)
    units = _normalise_unit(_text(f.attr(data, "unit")), series_type, stimulus)
    start_name = f"{group_name}/starting_time"
    start = f.node(start_name, kind=h5py.Dataset)
    rate = f.attr_float(start, "rate")
    if not math.isfinite(rate) or rate <= 0:
        f.fail(_abs(start_name), f"bad sampling rate {rate!r}")
    starting_time = f.number(start_name)
    electrode = _electrode_name(f, group_name)
    return _Series(
        group=_abs(group_name),
        data=_abs(data_name),
        units=units,
        conversion=conversion,
        offset=offset,
        rate=rate,
        starting_time=starting_time,
        num_samples=int(data.shape[0]),
        series_type=series_type,
        electrode=electrode,
    )


def _series_type(f: _File, group: h5py.Group) -> str | None:
    ancestry = f.attr(group, "ancestry")
    if ancestry is not None:
        names = _texts(ancestry)
        if names:
            return names[-1]
    return _text(f.attr(group, "neurodata_type"))


def _electrode_name(f: _File, group_name: str) -> str | None:
    name = f.text(f"{group_name}/electrode_name")
    if name:
        return name.rsplit("/", 1)[-1]
    try:
        link = f.h[group_name].get("electrode", getlink=True)
    except (OSError, RuntimeError, KeyError):
        link = None
    if isinstance(link, h5py.SoftLink):
        return link.path.rsplit("/", 1)[-1]
    if isinstance(link, h5py.HardLink):
        try:
            return f.h[f"{group_name}/electrode"].name.rsplit("/", 1)[-1]
        except (OSError, RuntimeError, KeyError):
            return None
    return None


def _clamp_mode(response: _Series, stimulus: _Series) -> str | None:
    for series_type in (response.series_type, stimulus.series_type):
        if series_type in _SERIES_CLAMP:
            return _SERIES_CLAMP[series_type]
    if stimulus.units == AMPS:
        return CURRENT_CLAMP
    if stimulus.units == VOLTS:
        return VOLTAGE_CLAMP
    return None


def _headstage(electrode: str | None) -> int:
    match = re.search(r"(\d+)$", electrode or "")
    return int(match.group(1)) if match else 0


def _pair(
    f: _File, number: int, responses: list[tuple[str, int]], stimuli: list[tuple[str, int]]
) -> list[tuple[_Series, _Series]]:
    """Pair response and stimulus series of one sweep by electrode (falling back to channel order)."""
    resp = [_series(f, name, stimulus=False) for name, _ in sorted(responses, key=lambda x: x[1])]
    stim = [_series(f, name, stimulus=True) for name, _ in sorted(stimuli, key=lambda x: x[1])]
    if not stim:
        where = "/stimulus/presentation"
        f.fail(where, f"no stimulus series for sweep {number} (response {resp[0].group})")
    pairs = []
    for index, r in enumerate(resp):
        match = [s for s in stim if r.electrode is not None and s.electrode == r.electrode]
        if not match:
            if len(resp) != len(stim):
                f.fail("/stimulus/presentation", f"cannot pair stimulus and response series of sweep {number}")
            match = [stim[index]]
        pairs.append((r, match[0]))
    return pairs


def _mies_description(f: _File, response: _Series, notebook: _LabNotebook, number: int) -> str:
    for name in ("stimulus_description", "aibs_stimulus_description"):
        text = f.text(f"{response.group}/{name}")
        if text:
            return text
    group = f.h[response.group]
    text = _text(f.attr(group, "stimulus_description"))
    if text:
        return text
    text = notebook.text("Stim Wave Name", number, _headstage(response.electrode))
    return text or ""


def _build_sweep(
    f: _File,
    number: int,
    response: _Series,
    stimulus: _Series,
    raw_description: str,
    ontology: StimulusOntology | None,
    *,
    notebook: _LabNotebook | None = None,
    stored_name: str | None = None,
    stored_amplitude: float | None = None,
    stored_interval: float | None = None,
    test_pulse: bool | None = None,
    spike_times: NDArray | None = None,
) -> Sweep:
    code = stimulus_code(raw_description)
    if "[" in raw_description:
        description = raw_description
    else:
        count = notebook.numeric("Set Sweep Count", number, _headstage(response.electrode)) if notebook else None
        description = f"{code}[{int(count) if count is not None else 0}]" if code else ""
    if stored_name:
        name = stored_name
    elif ontology is not None and code:
        name = ontology.name_for(code)
    else:
        name = UNKNOWN_STIMULUS
    if notebook is not None and test_pulse is None:
        flag = notebook.numeric("TP Insert Checkbox", number, _headstage(response.electrode))
        test_pulse = None if flag is None else bool(flag)
    stim_ref = _SeriesRef(f.path, stimulus.data, stimulus.conversion, stimulus.offset)
    resp_ref = _SeriesRef(f.path, response.data, response.conversion, response.offset)
    stimulus_values = _frozen(stim_ref.read(f.h))
    epoch = analyse_stimulus(stimulus_values, stimulus.rate, stimulus.units, test_pulse)
    amplitude = stored_amplitude if stored_amplitude is not None else epoch.amplitude
    interval = stored_interval if stored_interval is not None else epoch.interval
    sweep = Sweep(
        sweep_number=number,
        stimulus_name=name,
        stimulus_code=code,
        stimulus_description=description,
        stimulus_units=stimulus.units,
        response_units=response.units,
        clamp_mode=_clamp_mode(response, stimulus),
        sampling_rate=response.rate,
        num_samples=response.num_samples,
        starting_time=response.starting_time,
        stimulus_absolute_amplitude=amplitude,
        stimulus_start_time=epoch.start_time,
        stimulus_duration=epoch.duration,
        stimulus_interval=interval,
        num_spikes=None if spike_times is None else len(spike_times),
        electrode=response.electrode,
        raw_stimulus_description=raw_description,
        spike_times=None if spike_times is None else _frozen(np.asarray(spike_times, dtype=np.float64)),
        _stimulus_ref=stim_ref,
        _response_ref=resp_ref,
    )
    sweep._cache["stimulus"] = stimulus_values
    return sweep


def _read_mies_nwb1(f: _File, ontology: StimulusOntology | None) -> list[Sweep]:
    acquisition = f.keys("acquisition/timeseries")
    presentation = f.keys("stimulus/presentation")
    responses: dict[int, list[tuple[str, int]]] = {}
    stimuli: dict[int, list[tuple[str, int]]] = {}
    for key in acquisition:
        if m := _MIES_ACQ.match(key):
            responses.setdefault(int(m.group(1)), []).append((f"acquisition/timeseries/{key}", int(m.group(2))))
    for key in presentation:
        if m := _MIES_STIM.match(key):
            stimuli.setdefault(int(m.group(1)), []).append((f"stimulus/presentation/{key}", int(m.group(2))))
    if not responses:
        f.fail("/acquisition/timeseries", "no MIES sweeps (data_NNNNN_ADk)")
    return _paired_sweeps(f, responses, stimuli, ontology)


def _paired_sweeps(
    f: _File,
    responses: dict[int, list[tuple[str, int]]],
    stimuli: dict[int, list[tuple[str, int]]],
    ontology: StimulusOntology | None,
) -> list[Sweep]:
    """Sweeps of a MIES recording (NWB 1 raw or NWB 2): each response paired with its stimulus by channel."""
    notebook = _LabNotebook(f)
    sweeps = []
    for number in sorted(responses):
        for response, stimulus in _pair(f, number, responses[number], stimuli.get(number, [])):
            raw = _mies_description(f, response, notebook, number)
            sweeps.append(_build_sweep(f, number, response, stimulus, raw, ontology, notebook=notebook))
    return sweeps


def _read_nwb2(f: _File, ontology: StimulusOntology | None) -> list[Sweep]:
    def collect(base: str, stimulus: bool) -> dict[int, list[tuple[str, int]]]:
        found: dict[int, list[tuple[str, int]]] = {}
        if not f.has(base):
            return found
        for key in f.keys(base):
            obj = f.node(f"{base}/{key}", required=False)
            if not isinstance(obj, h5py.Group):
                continue
            kind = _text(f.attr(obj, "neurodata_type")) or ""
            if kind not in _SERIES_CLAMP or kind.endswith("StimulusSeries") != stimulus:
                continue
            number = f.attr(obj, "sweep_number")
            if number is None:
                m = (_MIES_STIM if stimulus else _MIES_ACQ).match(key)
                if m is None:
                    f.fail(f"/{base}/{key}", "missing attribute 'sweep_number'")
                number = m.group(1)
            channel = re.search(r"(\d+)$", key)
            found.setdefault(int(number), []).append((f"{base}/{key}", int(channel.group(1)) if channel else 0))
        return found

    responses = collect("acquisition", False)
    stimuli = collect("stimulus/presentation", True)
    if not responses:
        f.group("acquisition")
        f.fail("/acquisition", "no patch-clamp series (VoltageClampSeries / CurrentClampSeries)")
    return _paired_sweeps(f, responses, stimuli, ontology)


def _read_allen_nwb1(f: _File, ontology: StimulusOntology | None) -> list[Sweep]:
    numbers = sorted(int(m.group(1)) for k in f.keys("epochs") if (m := _ALLEN_SWEEP.match(k)))
    if not numbers:
        f.fail("/epochs", "no Sweep_N epochs")
    sweeps = []
    for number in numbers:
        tag = f"Sweep_{number}"
        resp_name = f"acquisition/timeseries/{tag}"
        stim_name = f"stimulus/presentation/{tag}"
        if not f.has(resp_name):
            resp_name = f"epochs/{tag}/response/timeseries"
        if not f.has(stim_name):
            stim_name = f"epochs/{tag}/stimulus/timeseries"
        response = _series(f, resp_name, stimulus=False)
        stimulus = _series(f, stim_name, stimulus=True)

        def stored(key: str, groups: tuple[str, str] = (resp_name, stim_name)) -> str | None:
            for group in groups:
                if f.has(f"{group}/{key}"):
                    return f"{group}/{key}"
            return None

        name_path = stored("aibs_stimulus_name")
        amp_path = stored("aibs_stimulus_amplitude_pa")
        interval_path = stored("aibs_stimulus_interval")
        raw_path = stored("stimulus_description")
        aibs_path = stored("aibs_stimulus_description")
        raw = (f.text(raw_path) if raw_path else None) or ""
        aibs_description = (f.text(aibs_path) if aibs_path else None) or ""
        # "C1LSCOARSE150216[3]" (Allen) names the set sweep too; a MIES-style raw code does not.
        described = aibs_description if "[" in aibs_description else (raw or aibs_description)
        spikes = None
        for key in ("spike_times", "aibs_spike_times"):
            value = f.value(f"analysis/{key}/{tag}")
            if value is not None:
                spikes = np.asarray(value, dtype=np.float64).reshape(-1)
                break
        sweep = _build_sweep(
            f,
            number,
            response,
            stimulus,
            described,
            ontology,
            stored_name=f.text(name_path) if name_path else None,
            stored_amplitude=f.number(amp_path) if amp_path else None,
            stored_interval=f.number(interval_path) if interval_path else None,
            spike_times=spikes,
        )
        sweep.raw_stimulus_description = raw or sweep.raw_stimulus_description
        sweeps.append(sweep)
    return sweeps


def _nwb_version(f: _File) -> str:
    version = f.text("nwb_version") if f.has("nwb_version") else None
    if version is None:
        version = _text(f.attr(f.h, "nwb_version"))
    if not version:
        f.fail("/nwb_version", "not an NWB file (no nwb_version)")
    return version


def _layout(f: _File, version: str) -> str:
    major = re.sub(r"^NWB-", "", version.strip())[:1]
    if major == "2":
        return LAYOUT_NWB2
    if major != "1":
        f.fail("/nwb_version", f"unsupported NWB version {version!r}")
    if f.has("epochs") and any(_ALLEN_SWEEP.match(k) for k in f.keys("epochs")):
        return LAYOUT_ALLEN_NWB1
    return LAYOUT_MIES_NWB1


def _specimen_name(f: _File, path: str) -> tuple[str, str]:
    for name in ("general/aibs_specimen_name", "general/specimen_name"):
        text = f.text(name) if f.has(name) else None
        if text and text.strip() not in _PLACEHOLDERS:
            return text.strip(), "/" + name
    description = f.text("session_description") if f.has("session_description") else None
    if description and description.strip() not in _PLACEHOLDERS and len(description) < 120:
        return description.strip(), "/session_description"
    return Path(path).stem, "file name"


def read_nwb(path: PathLike, ontology: StimulusOntology | PathLike | None = None, *, lazy: bool = True) -> NwbRecording:
    """Read an NWB file of any supported layout.

    ``ontology`` is a :class:`StimulusOntology` or the path of an ipfx ontology JSON (default: the demo copy).
    With ``lazy=False`` every response is read now (so a damaged dataset fails here, not later).
    """
    resolved = _resolve_ontology(ontology)
    handle, spath = _open(path)
    try:
        f = _File(handle, spath)
        try:
            version = _nwb_version(f)
            layout = _layout(f, version)
            reader = {
                LAYOUT_MIES_NWB1: _read_mies_nwb1,
                LAYOUT_ALLEN_NWB1: _read_allen_nwb1,
                LAYOUT_NWB2: _read_nwb2,
            }[layout]
            sweeps = reader(f, resolved)
            name, name_source = _specimen_name(f, spath)
            id_text = (f.text("general/aibs_specimen_id") or "").strip() if f.has("general/aibs_specimen_id") else ""
            recording = NwbRecording(
                path=spath,
                layout=layout,
                nwb_version=version,
                name=name,
                name_source=name_source,
                sweeps=sweeps,
                identifier=f.text("identifier") if f.has("identifier") else None,
                session_start_time=f.text("session_start_time") if f.has("session_start_time") else None,
                session_description=f.text("session_description") if f.has("session_description") else None,
                specimen_id=int(id_text) if id_text.isdigit() else None,
            )
        except (OSError, RuntimeError) as exc:  # HDF5 damage met outside the wrapped accessors
            raise InvalidFileError(spath, f"damaged HDF5 file ({exc})", where="/") from exc
    finally:
        handle.close()
    if not lazy:
        for sweep in recording.sweeps:
            _ = sweep.response
    return recording


def summarise_nwb(path: PathLike, ontology: StimulusOntology | PathLike | None = None) -> NwbSummary:
    """Specimen name and per-sweep metadata; reads stimulus samples but no response samples."""
    recording = read_nwb(path, ontology)
    return NwbSummary(
        path=recording.path,
        layout=recording.layout,
        nwb_version=recording.nwb_version,
        name=recording.name,
        name_source=recording.name_source,
        sweeps=[s.info() for s in recording.sweeps],
        identifier=recording.identifier,
        session_start_time=recording.session_start_time,
        specimen_id=recording.specimen_id,
    )


# --------------------------------------------------------------------------------------------------
# Writing the Allen released NWB 1 layout

_STR = h5py.string_dtype("utf-8")


def _put_text(group: h5py.Group, name: str, text: str) -> h5py.Dataset:
    return group.create_dataset(name, data=text, dtype=_STR)


def _put_custom(group: h5py.Group, name: str, value: Any) -> None:
    dataset = _put_text(group, name, value) if isinstance(value, str) else group.create_dataset(name, data=value)
    dataset.attrs["neurodata_type"] = "Custom"


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _write_series(
    group: h5py.Group,
    sweep: Sweep,
    data: NDArray,
    unit: str,
    ancestry: tuple[str, ...],
    dtype: np.dtype,
    compression: str | None,
) -> None:
    group.attrs["ancestry"] = np.array(("TimeSeries", "PatchClampSeries", *ancestry), dtype=_STR)
    group.attrs["neurodata_type"] = "TimeSeries"
    group.attrs["source"] = f"celltypes.science.nwb; sweep={sweep.sweep_number}"
    group.attrs["description"] = sweep.stimulus_name
    group.attrs["comments"] = ""
    values = np.asarray(data, dtype=dtype)
    options: dict[str, Any] = {}
    if compression and len(values):
        options = {"compression": compression, "chunks": True}
        if compression == "gzip":
            options["compression_opts"] = 4
    dataset = group.create_dataset("data", data=values, **options)
    dataset.attrs["conversion"] = 1.0
    dataset.attrs["resolution"] = float("nan")
    dataset.attrs["unit"] = np.bytes_(unit)  # bytes: AllenSDK calls .decode() on it
    start = group.create_dataset("starting_time", data=float(sweep.starting_time or 0.0))
    start.attrs["rate"] = float(sweep.sampling_rate)
    start.attrs["unit"] = "Seconds"
    group.create_dataset("num_samples", data=np.int64(len(values)))
    if sweep.electrode:
        _put_text(group, "electrode_name", sweep.electrode)
    if sweep.raw_stimulus_description:
        _put_text(group, "stimulus_description", sweep.raw_stimulus_description)
    _put_custom(group, "aibs_stimulus_description", sweep.stimulus_description)
    _put_custom(group, "aibs_stimulus_name", sweep.stimulus_name)
    _put_custom(group, "aibs_stimulus_amplitude_pa", _nan(sweep.stimulus_absolute_amplitude))
    _put_custom(group, "aibs_stimulus_interval", _nan(sweep.stimulus_interval))


def _write_epoch(
    epochs: h5py.Group, name: str, sweep: Sweep, first: int, count: int, description: str, tag: str
) -> None:
    epoch = epochs.create_group(name)
    epoch.attrs["neurodata_type"] = "Epoch"
    t0 = float(sweep.starting_time or 0.0)
    epoch.create_dataset("start_time", data=t0 + first / sweep.sampling_rate)
    epoch.create_dataset("stop_time", data=t0 + (first + count - 1) / sweep.sampling_rate)
    _put_text(epoch, "description", description)
    epoch.create_dataset("tags", data=np.array([tag], dtype=_STR))
    for role, target in (("stimulus", "stimulus/presentation"), ("response", "acquisition/timeseries")):
        link = epoch.create_group(role)
        link.create_dataset("idx_start", data=np.int64(first))
        link.create_dataset("count", data=np.int64(count))
        link["timeseries"] = h5py.SoftLink(f"/{target}/Sweep_{sweep.sweep_number}")


def write_allen_nwb1(
    recording: NwbRecording,
    out_path: PathLike,
    *,
    dtype: np.dtype | type = np.float64,
    compression: str | None = "gzip",
) -> Path:
    """Write ``recording`` in the layout of an Allen Cell Types Database NWB download.

    Samples are stored in SI units with ``conversion`` 1.0 (AllenSDK ignores ``conversion`` under h5py 3),
    float64 by default so a round trip is exact. The file appears atomically (temp file + ``os.replace``).
    """
    numbers = recording.sweep_numbers
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"sweep numbers must be unique for the Allen layout: {numbers}")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        with h5py.File(tmp_name, "w") as h:
            _write_allen(h, recording, np.dtype(dtype), compression)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp_name, out)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return out


def _write_allen(h: h5py.File, recording: NwbRecording, dtype: np.dtype, compression: str | None) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _put_text(h, "nwb_version", "NWB-1.0.5")
    _put_text(h, "identifier", recording.identifier or Path(recording.path).stem)
    _put_text(h, "session_description", recording.session_description or recording.name)
    _put_text(h, "session_start_time", recording.session_start_time or now)
    h.create_dataset("file_create_date", data=np.array([now], dtype=_STR))
    general = h.create_group("general")
    _put_text(general, "aibs_specimen_name", recording.name)
    if recording.specimen_id is not None:
        _put_text(general, "aibs_specimen_id", str(recording.specimen_id))
    general.create_dataset("generated_by", data=np.array(["pipeline", "celltypes", "version", "1.0"], dtype=_STR))
    _put_text(
        general,
        "data_collection",
        f"converted by celltypes.science.nwb from {Path(recording.path).name} ({recording.layout}, "
        f"{recording.nwb_version})",
    )
    ephys = general.create_group("intracellular_ephys")
    for electrode in sorted({s.electrode for s in recording.sweeps if s.electrode}):
        _put_text(ephys.create_group(electrode), "description", electrode)
    acquisition = h.create_group("acquisition").create_group("timeseries")
    h["acquisition"].create_group("images")
    stimulus = h.create_group("stimulus")
    presentation = stimulus.create_group("presentation")
    stimulus.create_group("templates")
    epochs = h.create_group("epochs")
    analysis = h.create_group("analysis")
    spikes = analysis.create_group("spike_times")
    spikes.attrs["neurodata_type"] = "Custom"
    h.create_group("processing")

    for sweep in sorted(recording.sweeps, key=lambda s: s.sweep_number):
        tag = f"Sweep_{sweep.sweep_number}"
        clamp = sweep.clamp_mode or (CURRENT_CLAMP if sweep.stimulus_units == AMPS else VOLTAGE_CLAMP)
        response_ancestry, stimulus_ancestry = _ANCESTRY.get(clamp, _ANCESTRY[CURRENT_CLAMP])
        response = sweep.response
        stim = sweep.stimulus
        _write_series(
            acquisition.create_group(tag),
            sweep,
            response,
            sweep.response_units,
            response_ancestry,
            dtype,
            compression,
        )
        _write_series(
            presentation.create_group(tag),
            sweep,
            stim,
            sweep.stimulus_units,
            stimulus_ancestry,
            dtype,
            compression,
        )
        count = len(response)
        _write_epoch(epochs, tag, sweep, 0, count, "sweep", "Sweep")
        if clamp in (CURRENT_CLAMP, IZERO_CLAMP):
            pulse = min(count, int(round(ALLEN_TEST_PULSE_LENGTH * sweep.sampling_rate)))
            experiment = int(round(ALLEN_EXPERIMENT_START_TIME * sweep.sampling_rate))
            if pulse > 0:
                _write_epoch(epochs, f"TestPulse_{sweep.sweep_number}", sweep, 0, pulse, "test pulse", "TestPulse")
            if experiment < count:
                _write_epoch(
                    epochs,
                    f"Experiment_{sweep.sweep_number}",
                    sweep,
                    experiment,
                    count - experiment,
                    "experiment",
                    "Experiment",
                )
        if sweep.spike_times is not None:
            spikes.create_dataset(tag, data=np.asarray(sweep.spike_times, dtype="f8"), maxshape=(None,))
