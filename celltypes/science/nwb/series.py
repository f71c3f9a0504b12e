"""Patch-clamp time series: their metadata, pairing a response with its stimulus, and building a sweep."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import h5py
import numpy as np
from numpy.typing import NDArray

from .hdf5 import H5File, absolute, text, texts
from .records import SeriesRef, Sweep, frozen
from .stimulus import UNKNOWN_STIMULUS, StimulusOntology, analyse_stimulus, stimulus_code
from .vocabulary import AMPS, CURRENT_CLAMP, SERIES_CLAMP, VOLTAGE_CLAMP, VOLTS, normalise_unit

if TYPE_CHECKING:
    from .mies import LabNotebook

# NWB 1 requires `conversion`; MIES stores pA and mV with 1e-12 and 1e-3, so reading a series without it as
# 1.0 would give values 1e12 (or 1e3) times too large. NWB 2 gives it a default of 1.0.
_CONVERSION_NEEDED = " (NWB 1 requires it: the samples' scale to SI units is unknown without it)"


@dataclass(frozen=True)
class Series:
    """A TimeSeries group's metadata (no samples read)."""

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


def read_series(f: H5File, group_name: str, *, stimulus: bool, nwb1: bool) -> Series:
    """The metadata of the TimeSeries at ``group_name``; ``nwb1`` makes the ``conversion`` attribute required."""
    group = f.group(group_name)
    data_name = f"{group_name}/data"
    data = f.node(data_name, kind=h5py.Dataset)
    if data.ndim != 1:
        f.fail(absolute(data_name), f"expected 1-D samples, got shape {data.shape}")
    if data.dtype.kind not in "iuf":
        f.fail(absolute(data_name), f"expected numeric samples, got {data.dtype}")
    conversion = f.attr_float(data, "conversion", None if nwb1 else 1.0, why=_CONVERSION_NEEDED)
    if not math.isfinite(conversion) or conversion == 0:
        f.fail(absolute(data_name), f"bad conversion {conversion!r} (the samples' scale to SI units)")
    offset = f.attr_float(data, "offset", 0.0)
    series_type = _series_type(f, group)
    units = normalise_unit(text(f.attr(data, "unit")), series_type, stimulus)
    start_name = f"{group_name}/starting_time"
    start = f.node(start_name, kind=h5py.Dataset)
    rate = f.attr_float(start, "rate")
    if not math.isfinite(rate) or rate <= 0:
        f.fail(absolute(start_name), f"bad sampling rate {rate!r}")
    return Series(
        group=absolute(group_name),
        data=absolute(data_name),
        units=units,
        conversion=conversion,
        offset=offset,
        rate=rate,
        starting_time=f.number(start_name),
        num_samples=int(data.shape[0]),
        series_type=series_type,
        electrode=_electrode_name(f, group_name),
    )


def _series_type(f: H5File, group: h5py.Group) -> str | None:
    ancestry = f.attr(group, "ancestry")
    if ancestry is not None:
        names = texts(ancestry)
        if names:
            return names[-1]
    return text(f.attr(group, "neurodata_type"))


def _electrode_name(f: H5File, group_name: str) -> str | None:
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


def clamp_mode(response: Series, stimulus: Series) -> str | None:
    for series_type in (response.series_type, stimulus.series_type):
        if series_type in SERIES_CLAMP:
            return SERIES_CLAMP[series_type]
    if stimulus.units == AMPS:
        return CURRENT_CLAMP
    if stimulus.units == VOLTS:
        return VOLTAGE_CLAMP
    return None


def headstage(electrode: str | None) -> int:
    match = re.search(r"(\d+)$", electrode or "")
    return int(match.group(1)) if match else 0


def pair_series(
    f: H5File, number: int, responses: list[tuple[str, int]], stimuli: list[tuple[str, int]], *, nwb1: bool
) -> list[tuple[Series, Series]]:
    """Pair response and stimulus series of one sweep by electrode (falling back to channel order)."""
    resp = [read_series(f, name, stimulus=False, nwb1=nwb1) for name, _ in sorted(responses, key=lambda x: x[1])]
    stim = [read_series(f, name, stimulus=True, nwb1=nwb1) for name, _ in sorted(stimuli, key=lambda x: x[1])]
    if not stim:
        f.fail("/stimulus/presentation", f"no stimulus series for sweep {number} (response {resp[0].group})")
    pairs = []
    for index, r in enumerate(resp):
        match = [s for s in stim if r.electrode is not None and s.electrode == r.electrode]
        if not match:
            if len(resp) != len(stim):
                f.fail("/stimulus/presentation", f"cannot pair stimulus and response series of sweep {number}")
            match = [stim[index]]
        pairs.append((r, match[0]))
    return pairs


def _check_same_clock(f: H5File, number: int, response: Series, stimulus: Series) -> None:
    """A stimulus must cover its response sample for sample, or the sweep's time axis is ambiguous."""
    if stimulus.num_samples != response.num_samples:
        shorter = "shorter" if stimulus.num_samples < response.num_samples else "longer"
        f.fail(
            stimulus.data,
            f"sweep {number}: the stimulus ({stimulus.num_samples} samples) is {shorter} than its response "
            f"{response.data} ({response.num_samples} samples)",
        )
    if not math.isclose(stimulus.rate, response.rate, rel_tol=1e-9):
        f.fail(
            stimulus.group + "/starting_time",
            f"sweep {number}: stimulus sampled at {stimulus.rate:g} Hz, its response at {response.rate:g} Hz",
        )


def build_sweep(
    f: H5File,
    number: int,
    response: Series,
    stimulus: Series,
    description: str,
    ontology: StimulusOntology | None,
    *,
    raw_description: str | None = None,
    notebook: LabNotebook | None = None,
    stored_name: str | None = None,
    stored_amplitude: float | None = None,
    stored_interval: float | None = None,
    test_pulse: bool | None = None,
    spike_times: NDArray | None = None,
) -> Sweep:
    """A sweep from its paired series: reads (and checks) the stimulus samples, not the response's.

    ``description`` is the stimulus description the code and name come from; ``raw_description`` what the
    file stores as such when it differs (Allen files keep both).
    """
    _check_same_clock(f, number, response, stimulus)
    code = stimulus_code(description)
    if "[" in description:
        allen_description = description
    else:
        count = notebook.numeric("Set Sweep Count", number, headstage(response.electrode)) if notebook else None
        allen_description = f"{code}[{int(count) if count is not None else 0}]" if code else ""
    if stored_name:
        name = stored_name
    elif ontology is not None and code:
        name = ontology.name_for(code)
    else:
        name = UNKNOWN_STIMULUS
    if notebook is not None and test_pulse is None:
        flag = notebook.numeric("TP Insert Checkbox", number, headstage(response.electrode))
        test_pulse = None if flag is None else bool(flag)
    stim_ref = SeriesRef(f.path, stimulus.data, stimulus.conversion, stimulus.offset)
    resp_ref = SeriesRef(f.path, response.data, response.conversion, response.offset, nan_tail_allowed=True)
    stimulus_values = frozen(stim_ref.read(f.h))
    epoch = analyse_stimulus(stimulus_values, stimulus.rate, stimulus.units, test_pulse)
    sweep = Sweep(
        sweep_number=number,
        stimulus_name=name,
        stimulus_code=code,
        stimulus_description=allen_description,
        stimulus_units=stimulus.units,
        response_units=response.units,
        clamp_mode=clamp_mode(response, stimulus),
        sampling_rate=response.rate,
        num_samples=response.num_samples,
        starting_time=response.starting_time,
        stimulus_absolute_amplitude=stored_amplitude if stored_amplitude is not None else epoch.amplitude,
        stimulus_start_time=epoch.start_time,
        stimulus_duration=epoch.duration,
        stimulus_interval=stored_interval if stored_interval is not None else epoch.interval,
        num_spikes=None if spike_times is None else len(spike_times),
        electrode=response.electrode,
        raw_stimulus_description=raw_description or description,
        spike_times=None if spike_times is None else frozen(np.asarray(spike_times, dtype=np.float64)),
        _stimulus_ref=stim_ref,
        _response_ref=resp_ref,
    )
    sweep._cache["stimulus"] = stimulus_values
    return sweep
