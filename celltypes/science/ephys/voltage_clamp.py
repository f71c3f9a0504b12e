"""Voltage-clamp sweeps: the test pulse (a short command step) and the resistances it gives.

Never spike detection: the response of a voltage-clamp sweep is a current. Times in s, command in mV, current
in pA, resistances in MΩ (mV / pA = GΩ). What the steady-state resistance means depends on the recording's
state, which the file does not say: the pipette resistance in the bath, the seal resistance cell-attached, the
input resistance (plus access) whole-cell; the peak resistance is the access (series) resistance whole-cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

STEADY_FRACTION = 0.25  # the steady state is the mean current over the pulse's last quarter


@dataclass(frozen=True)
class TestPulse:
    start: float  # s
    end: float  # s
    amplitude: float  # mV, command step above the baseline command
    baseline_current: float  # pA, mean over as long before the pulse as the pulse lasts
    steady_current: float  # pA, mean over the pulse's last quarter
    peak_current: float  # pA, the largest current in the pulse's direction
    baseline_noise: float  # pA, standard deviation of the baseline current

    @property
    def steady_resistance(self) -> float:
        """MΩ: amplitude / (steady - baseline current)."""
        return _resistance(self.amplitude, self.steady_current - self.baseline_current)

    @property
    def steady_resolved(self) -> bool:
        """Whether the steady current change stands out of the baseline noise (twice its SD, in the pulse's
        direction); a seal of many GΩ moves the current by less than the noise."""
        change = (self.steady_current - self.baseline_current) * np.sign(self.amplitude)
        return bool(change > 2 * self.baseline_noise)

    @property
    def peak_resistance(self) -> float:
        """MΩ: amplitude / (peak - baseline current)."""
        return _resistance(self.amplitude, self.peak_current - self.baseline_current)


def _resistance(mv: float, pa: float) -> float:
    return float("nan") if pa == 0 else 1e3 * mv / pa


def first_test_pulse(
    t: NDArray[np.float64], command: NDArray[np.float64], current: NDArray[np.float64]
) -> TestPulse | None:
    """The first step of the command away from its starting value and back, or None when there is none."""
    command = np.asarray(command, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    if command.shape != current.shape or command.shape != np.shape(t) or command.ndim != 1:
        raise ValueError("t, command and current must be 1-D arrays of one length")
    changes = np.flatnonzero(np.diff(command))
    if len(changes) < 2:
        return None
    on, off = int(changes[0]) + 1, int(changes[1]) + 1
    length = off - on
    baseline = current[max(0, on - length) : on]
    pulse = current[on:off]
    if len(baseline) == 0 or not np.all(np.isfinite(pulse)) or not np.all(np.isfinite(baseline)):
        return None
    amplitude = float(command[on] - command[on - 1])
    steady = pulse[int(len(pulse) * (1 - STEADY_FRACTION)) :]
    peak = pulse.max() if amplitude > 0 else pulse.min()
    return TestPulse(
        start=float(t[on]),
        end=float(t[off]),
        amplitude=amplitude,
        baseline_current=float(baseline.mean()),
        steady_current=float(steady.mean()),
        peak_current=float(peak),
        baseline_noise=float(baseline.std()),
    )
