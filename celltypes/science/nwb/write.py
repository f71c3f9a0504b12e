"""Writing the layout of an Allen Cell Types Database NWB download (Allen NWB 1), which AllenSDK reads."""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from .hdf5 import PathLike
from .records import NwbRecording, Sweep
from .vocabulary import AMPS, ANCESTRY, CURRENT_CLAMP, IZERO_CLAMP, VOLTAGE_CLAMP

# Allen's NWB 1 converter: the test pulse epoch is the first 0.1 s, the experiment starts at 0.75 s.
ALLEN_TEST_PULSE_LENGTH = 0.1
ALLEN_EXPERIMENT_START_TIME = 0.75

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
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
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
        response_ancestry, stimulus_ancestry = ANCESTRY.get(clamp, ANCESTRY[CURRENT_CLAMP])
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
