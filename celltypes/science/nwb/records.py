"""What the readers return: sweep metadata, sweeps with their traces, recordings and summaries."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidFileError
from .hdf5 import H5_ERRORS


@dataclass(frozen=True)
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


def recorded_samples(response: NDArray) -> int:
    """Samples up to the last one that is not NaN: MIES pads a sweep whose recording stopped early with NaN."""
    if len(response) and not np.isnan(response[-1]):
        return len(response)  # no padding: the common case, without a pass over the samples
    recorded = np.flatnonzero(~np.isnan(response))
    return int(recorded[-1]) + 1 if len(recorded) else 0


@dataclass(frozen=True)
class SeriesRef:
    """Where a trace lives, so it can be read on demand.

    Every sample must be finite, except that a response may end in a run of NaN (see :func:`recorded_samples`);
    anything else is an :class:`InvalidFileError` naming the dataset and the first bad sample.
    """

    path: str
    dataset: str
    conversion: float = 1.0
    offset: float = 0.0
    nan_tail_allowed: bool = False

    def read(self, handle: h5py.File | None = None) -> NDArray[np.float64]:
        try:
            if handle is None:
                with h5py.File(self.path, "r") as own:
                    raw = own[self.dataset][()]
            else:
                raw = handle[self.dataset][()]
        except FileNotFoundError:
            raise
        except H5_ERRORS as exc:
            raise InvalidFileError(self.path, f"cannot read samples ({exc})", where=self.dataset) from exc
        data = np.asarray(raw)
        if data.ndim != 1 or data.dtype.kind not in "iuf":
            raise InvalidFileError(
                self.path,
                f"expected a 1-D numeric dataset, got {data.dtype} {data.shape}",
                where=self.dataset,
            )
        values = data.astype(np.float64)
        values *= self.conversion  # in place: 4x faster than a casting multiply of a 2,000,000-sample sweep
        if self.offset:
            values = values + self.offset
        self._check_finite(values)
        return values

    def _check_finite(self, values: NDArray[np.float64]) -> None:
        checked = values[: recorded_samples(values)] if self.nan_tail_allowed else values
        if np.isfinite(checked).all():
            return
        bad = np.flatnonzero(~np.isfinite(checked))
        if len(bad):
            tail = " before the recording's end" if self.nan_tail_allowed else ""
            raise InvalidFileError(
                self.path,
                f"{len(bad)} samples are NaN or infinite{tail}, the first at sample {bad[0]}",
                where=self.dataset,
            )


@dataclass(frozen=True, eq=False)
class Sweep(SweepInfo):
    """One sweep: metadata plus stimulus and response traces (SI units, read-only, read on first use)."""

    spike_times: NDArray[np.float64] | None = field(default=None, repr=False)
    _stimulus_ref: SeriesRef | None = field(default=None, repr=False)
    _response_ref: SeriesRef | None = field(default=None, repr=False)
    _cache: dict[str, NDArray[np.float64]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_arrays(cls, stimulus: NDArray, response: NDArray, **metadata: Any) -> Sweep:
        """A sweep held in memory (``num_samples`` defaults to the response length)."""
        metadata.setdefault("num_samples", len(response))
        sweep = cls(**metadata)
        sweep._cache["stimulus"] = frozen(np.asarray(stimulus, dtype=np.float64).copy())
        sweep._cache["response"] = frozen(np.asarray(response, dtype=np.float64).copy())
        return sweep

    def _trace(self, kind: str, ref: SeriesRef | None) -> NDArray[np.float64]:
        if kind not in self._cache:
            if ref is None:
                raise ValueError(f"sweep {self.sweep_number} has no {kind} data")
            self._cache[kind] = frozen(ref.read())
        return self._cache[kind]

    @property
    def stimulus(self) -> NDArray[np.float64]:
        """Stimulus in A (current clamp) or V (voltage clamp)."""
        return self._trace("stimulus", self._stimulus_ref)

    @property
    def response(self) -> NDArray[np.float64]:
        """Response in V (current clamp) or A (voltage clamp); NaN after the recording's end, if it ended early."""
        return self._trace("response", self._response_ref)

    @property
    def recorded_samples(self) -> int:
        """Samples actually recorded: ``num_samples`` unless the response ends in NaN (reads the response)."""
        return recorded_samples(self.response)

    @property
    def time(self) -> NDArray[np.float64]:
        """Seconds from the first sample."""
        return np.arange(self.num_samples, dtype=np.float64) / self.sampling_rate

    @property
    def data_loaded(self) -> bool:
        return "response" in self._cache

    def load(self, handle: h5py.File | None = None) -> Sweep:
        """Read the response now (through ``handle`` when the file is already open); returns ``self``."""
        if "response" not in self._cache and self._response_ref is not None:
            self._cache["response"] = frozen(self._response_ref.read(handle))
        return self

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


def frozen(array: NDArray) -> NDArray:
    array.flags.writeable = False
    return array
