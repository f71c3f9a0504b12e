"""A SYNTHETIC recording of a modelled demo cell, for the model tests (integration and browser).

No modelled demo cell has its recording in the demo set. This writes a synthetic NWB file in Allen's layout, to be
held in the file store as cell 464198958's NWB download (record 491202203). Its traces are made up: a 70 pA Long
Square sweep 29 with 24 triangular spikes, and three Noise 2 repeats (38, 40, 42) of one seeded pink-noise
stimulus whose spikes are those of GLIF model 480629475 run on it (so that model's explained variance ratio on
them is exactly 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC_CELL = 464198958
SYNTHETIC_NWB_FILE_ID = 491202203
SYNTHETIC_RATE = 50_000.0  # Hz
SYNTHETIC_LONG_SQUARE_SPIKES = 24
SYNTHETIC_NOISE_MODEL = 480629475  # the Noise 2 repeats spike exactly as this GLIF model does
SYNTHETIC_NOISE_MODEL_CONFIG = (
    REPO
    / "celltypes/atlas/demo_data/OpenSourceBrain_AllenInstituteNeuroML/CellTypesDatabase/models/GLIF"
    / str(SYNTHETIC_NOISE_MODEL)
    / "neuron_config.json"
)


def _synthetic_sweep(number, name, stimulus, response, spike_times):
    from celltypes.science.nwb.records import Sweep
    from celltypes.science.nwb.vocabulary import AMPS, VOLTS

    return Sweep.from_arrays(
        stimulus,
        response,
        sweep_number=number,
        stimulus_name=name,
        stimulus_code="SYNTHETIC",
        stimulus_description=f"SYNTHETIC[{number}]",
        stimulus_units=AMPS,
        response_units=VOLTS,
        clamp_mode="CurrentClamp",
        sampling_rate=SYNTHETIC_RATE,
        spike_times=np.asarray(spike_times, dtype=np.float64),
    )


def _with_spikes(n: int, spike_steps) -> np.ndarray:
    """-68 mV with a triangular spike (to +30 mV in 0.5 ms, back in 1 ms) from each of ``spike_steps``."""
    v = np.full(n, -0.068)
    shape = np.concatenate([np.linspace(-0.068, 0.03, 26), np.linspace(0.03, -0.068, 51)[1:]])
    for step in spike_steps:
        v[step : step + len(shape)] = shape[: n - step]
    return v


def synthetic_noise_stimulus() -> np.ndarray:
    from celltypes.science import stimuli

    return stimuli.pink_noise(mean=70e-12, cv=0.5, seed=5, start=0.5, duration=2.0, total=3.0, dt=1 / SYNTHETIC_RATE)


def write_synthetic_nwb(path: Path) -> dict:
    """Write the SYNTHETIC recording to ``path``; its expected spikes."""
    from celltypes.science.glif import load_config, simulate
    from celltypes.science.nwb.records import NwbRecording
    from celltypes.science.nwb.write import write_allen_nwb1

    n = int(2.5 * SYNTHETIC_RATE)
    square = np.zeros(n)
    square[int(1.02 * SYNTHETIC_RATE) : int(2.02 * SYNTHETIC_RATE)] = 70e-12
    square_spikes = np.linspace(1.05, 1.95, SYNTHETIC_LONG_SQUARE_SPIKES)
    square_steps = np.rint(square_spikes * SYNTHETIC_RATE).astype(int)
    sweeps = [_synthetic_sweep(29, "Long Square", square, _with_spikes(n, square_steps), square_spikes)]
    noise = synthetic_noise_stimulus()
    model_steps = simulate(load_config(SYNTHETIC_NOISE_MODEL_CONFIG), noise, 1 / SYNTHETIC_RATE).spike_steps
    for number in (38, 40, 42):
        response = _with_spikes(len(noise), model_steps)
        sweeps.append(_synthetic_sweep(number, "Noise 2", noise, response, model_steps / SYNTHETIC_RATE))
    recording = NwbRecording(
        path="synthetic.nwb", layout="memory", nwb_version="-", name="SYNTHETIC", name_source="-", sweeps=sweeps
    )
    write_allen_nwb1(recording, path)
    return {"square_spikes": square_spikes, "noise_model_steps": model_steps}
