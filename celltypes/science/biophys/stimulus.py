"""What a biophysical run injects at the soma: a current in nA, sampled at a fixed rate.

Allen's runner (``Utils.setup_iclamp``) plays a sweep's stimulus into an IClamp at ``soma[0](0.5)`` at the
sweep's own rate, simulates at the least common multiple of that rate and 40 kHz ("NEURON only allows
simulation timestamps of multiples of 40KHz"), stops at the stimulus's last sample, and averages the
recording back down to the stimulus rate. A square step is the same thing with a current we write.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import BiophysError

NEURON_BASE_RATE = 40_000  # Hz; NEURON's default dt of 0.025 ms
MAX_SAMPLING_RATE = 1_000_000  # Hz
MAX_SIMULATED_SECONDS = 30.0  # Allen's longest sweeps are ~20 s
MAX_ABS_CURRENT = 50.0  # nA; real protocols stay within a few nA
AMPERES_PER_NANOAMPERE = 1e-9


@dataclass(frozen=True, eq=False)
class Stimulus:
    """A soma current: ``current[k]`` nA from ``k / sampling_rate`` s on; the run ends at the last sample."""

    current: NDArray[np.float64]
    sampling_rate: int  # Hz

    def __post_init__(self) -> None:
        current = np.array(self.current, dtype=np.float64)
        if current.ndim != 1 or current.size < 2:
            raise BiophysError("stimulus: need a 1-d current of at least 2 samples")
        if not np.all(np.isfinite(current)):
            raise BiophysError("stimulus: the current holds NaN or infinite values")
        if np.abs(current).max() > MAX_ABS_CURRENT:
            raise BiophysError(f"stimulus: |current| above {MAX_ABS_CURRENT:g} nA (is it in amperes or pA?)")
        rate = self.sampling_rate
        if isinstance(rate, bool) or not isinstance(rate, int | np.integer) or not 0 < rate <= MAX_SAMPLING_RATE:
            raise BiophysError(f"stimulus: sampling rate must be a whole number of Hz up to {MAX_SAMPLING_RATE}")
        if (current.size - 1) / rate > MAX_SIMULATED_SECONDS:
            raise BiophysError(f"stimulus: longer than {MAX_SIMULATED_SECONDS:g} s")
        current.flags.writeable = False
        object.__setattr__(self, "current", current)
        object.__setattr__(self, "sampling_rate", int(rate))

    @classmethod
    def square_step(
        cls,
        *,
        amplitude: float,
        delay: float,
        duration: float,
        tstop: float,
        sampling_rate: int = NEURON_BASE_RATE,
    ) -> Stimulus:
        """``amplitude`` nA from ``delay`` ms for ``duration`` ms, 0 elsewhere, until ``tstop`` ms."""
        for name, value in (("amplitude", amplitude), ("delay", delay), ("duration", duration), ("tstop", tstop)):
            if not math.isfinite(value):
                raise BiophysError(f"square step: {name} is not a finite number")
        if delay < 0 or duration <= 0 or tstop <= 0:
            raise BiophysError("square step: need delay >= 0, duration > 0 and tstop > 0 (ms)")
        if tstop / 1000 > MAX_SIMULATED_SECONDS:
            raise BiophysError(f"square step: tstop above {MAX_SIMULATED_SECONDS * 1000:g} ms")
        per_ms = sampling_rate / 1000
        current = np.zeros(round(tstop * per_ms) + 1)
        current[round(delay * per_ms) : round((delay + duration) * per_ms)] = amplitude
        return cls(current=current, sampling_rate=sampling_rate)

    @classmethod
    def from_sweep(cls, stimulus: ArrayLike, sampling_rate: float) -> Stimulus:
        """A recorded sweep's stimulus, in amperes as Allen's NWB files hold it (the runner scales to nA)."""
        rate = float(sampling_rate)
        if not math.isfinite(rate) or rate != int(rate):
            raise BiophysError(f"stimulus: sampling rate {sampling_rate!r} Hz is not a whole number")
        return cls(current=np.asarray(stimulus, dtype=np.float64) / AMPERES_PER_NANOAMPERE, sampling_rate=int(rate))

    @property
    def dt(self) -> float:
        """Stimulus sample interval, ms."""
        return 1000.0 / self.sampling_rate

    @property
    def tstop(self) -> float:
        """Where the run stops, ms (the last sample's time, as in Allen's runner)."""
        return (self.current.size - 1) * self.dt

    @property
    def simulation_rate(self) -> int:
        """Hz NEURON steps at: the least common multiple of the stimulus rate and 40 kHz."""
        return math.lcm(self.sampling_rate, NEURON_BASE_RATE)

    def digest(self) -> str:
        """sha256 of the rate and the samples: with the model's identity, the key of a cached result."""
        digest = hashlib.sha256(f"{self.sampling_rate}\0".encode())
        digest.update(np.ascontiguousarray(self.current, dtype="<f8").tobytes())
        return digest.hexdigest()
