"""A SYNTHETIC lab recording as an NWB 2 icephys file (written with h5py, as MIES lays it out): Long Square
sweeps of the synthetic cell of tests/unit/science/ephys_synthetic.py at several amplitudes, with its drawn
spikes. Invented, not a recording; every name says synthetic."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from tests.unit.science.ephys_synthetic import WINDOW, synthetic_onsets, synthetic_step_sweep

SYNTHETIC_AMPLITUDES = (-90.0, 50.0, 90.0, 130.0)  # pA: no spike, no spike, 5 spikes, 13 spikes
LONG_SQUARE_CODE = "C1LSCOARSE150216_DA_0"  # named "Long Square" by the stimulus ontology
SHORT_SQUARE_CODE = "C1SSFINEST150112_DA_0"  # named "Short Square"
SHORT_PULSE = (0.5, 0.003)  # s: a Short Square's onset (after MIES's test-pulse window) and length


def synthetic_spike_counts(amplitudes: tuple[float, ...] = SYNTHETIC_AMPLITUDES) -> list[int]:
    return [len(synthetic_onsets(a)) for a in amplitudes]


def write_synthetic_nwb2(
    path: Path,
    amplitudes: tuple[float, ...] = SYNTHETIC_AMPLITUDES,
    *,
    rate: float = 50_000.0,
    seconds: float = WINDOW,
    clamp: str = "Current",
    short_square: float | None = None,
) -> Path:
    """Write one Long Square sweep per amplitude (sweep numbers 0, 1, ...) of ``seconds`` each, then, given its
    amplitude, a ``short_square`` sweep (a 3 ms pulse firing one spike); ``clamp="Voltage"`` marks them voltage
    clamp."""
    with h5py.File(path, "w") as h:
        h.attrs.update(nwb_version="2.5.0", neurodata_type="NWBFile", namespace="core")
        h.create_dataset("identifier", data="synthetic-lab-recording")
        h.create_dataset("session_description", data="synthetic lab cell")
        h.create_dataset("session_start_time", data="2026-11-29T12:00:00+00:00")
        h.create_group("general/intracellular_ephys/electrode_0").attrs["neurodata_type"] = "IntracellularElectrode"
        made = [
            (LONG_SQUARE_CODE, synthetic_step_sweep(a, synthetic_onsets(a), rate=rate, window=seconds, seed=k))
            for k, a in enumerate(amplitudes)
        ]
        if short_square is not None:
            start, length = SHORT_PULSE
            onset = (start + 0.001,)
            pulse = synthetic_step_sweep(
                short_square, onset, rate=rate, window=seconds, start=start, length=length, seed=99
            )
            made.append((SHORT_SQUARE_CODE, pulse))
        for number, (code, sweep) in enumerate(made):
            series = (
                ("acquisition/data_{:05d}_AD0", f"{clamp}ClampSeries", sweep.v, "volts", 1e-3),
                ("stimulus/presentation/data_{:05d}_DA0", f"{clamp}ClampStimulusSeries", sweep.i, "amperes", 1e-12),
            )
            for name, kind, samples, unit, conversion in series:
                group = h.create_group(name.format(number))
                group.attrs.update(neurodata_type=kind, namespace="core", sweep_number=np.uint32(number))
                group.attrs["stimulus_description"] = code
                data = group.create_dataset("data", data=samples.astype(np.float32))
                data.attrs.update(unit=unit, conversion=np.float32(conversion))
                group.create_dataset("starting_time", data=float(number) * 10.0).attrs.update(rate=rate, unit="seconds")
    return path
