"""A current-clamp sweep read from an NWB file, in the units and on the clock the ephys code works in.

The readers (:mod:`celltypes.science.nwb`) give SI units and the whole sweep; spike detection and the plots
take mV and pA, the samples actually recorded (MIES pads a sweep stopped early with NaN) and the stimulus
epoch (s from the sweep's first sample). A sweep without a stimulus epoch is searched over its whole length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..nwb import AMPS, CURRENT_CLAMP, IZERO_CLAMP, Sweep
from .spikes import detect_spikes


@dataclass(frozen=True, eq=False)
class ClampArrays:
    v: NDArray[np.float64]  # mV
    i: NDArray[np.float64]  # pA
    sampling_rate: float  # Hz
    stimulus_start: float  # s from the sweep's first sample
    stimulus_end: float

    @property
    def t(self) -> NDArray[np.float64]:
        return np.arange(len(self.v)) / self.sampling_rate


def is_current_clamp(sweep) -> bool:
    """A sweep (or its metadata) recorded in current clamp: the stimulus is a current."""
    if sweep.clamp_mode is None:
        return sweep.stimulus_units == AMPS
    return sweep.clamp_mode in (CURRENT_CLAMP, IZERO_CLAMP)


def clamp_arrays(sweep: Sweep) -> ClampArrays:
    """The recorded part of a current-clamp sweep: v in mV, i in pA, and its stimulus epoch."""
    n = sweep.recorded_samples
    rate = sweep.sampling_rate
    on = sweep.stimulus_start_time or 0.0
    off = on + (sweep.stimulus_duration or n / rate - on)
    v = np.asarray(sweep.response[:n]) * 1e3
    i = np.asarray(sweep.stimulus[:n]) * 1e12
    return ClampArrays(v, i, rate, on, min(off, (n - 1) / rate))


def spike_count(sweep: Sweep) -> int | None:
    """Spikes detected (ipfx's rules) during the stimulus epoch; None when the sweep cannot be searched (too
    short to filter, or no sample recorded)."""
    arrays = clamp_arrays(sweep)
    try:
        return len(detect_spikes(arrays.t, arrays.v, arrays.i, arrays.stimulus_start, arrays.stimulus_end))
    except ValueError:
        return None
