"""Fixtures of the model tests: eager Celery (shared with the morphology tests), a synthetic held recording."""

import numpy as np
import pytest

from tests.integration.morphology.conftest import eager_celery  # noqa: F401


def clear_model_cache(model_id: int, pattern: str = "glif-*.json") -> None:
    """Remove a model's cached worker results and in-flight markers (so a test sees the work happen)."""
    from celltypes.atlas import filestore

    folder = filestore.derived_path("simulations", str(model_id))
    for path in [*folder.glob(pattern), *folder.glob("*.running")]:
        path.unlink()


# --- a SYNTHETIC recording of a modelled demo cell ------------------------------------------------------------
# No modelled demo cell has its recording in the demo set. These fixtures write a synthetic NWB file in Allen's
# layout and hold it in the file store as cell 464198958's NWB download (record 491202203), removed afterwards.
# Its traces are made up: a 70 pA Long Square sweep 29 with 24 triangular spikes, and three Noise 2 repeats
# (38, 40, 42) of one seeded pink-noise stimulus whose spikes are those of GLIF model 480629475 run on it.

SYNTHETIC_CELL = 464198958
SYNTHETIC_NWB_FILE_ID = 491202203
SYNTHETIC_RATE = 50_000.0  # Hz
SYNTHETIC_LONG_SQUARE_SPIKES = 24
SYNTHETIC_NOISE_MODEL = 480629475  # the Noise 2 repeats spike exactly as this GLIF model does


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


def write_synthetic_nwb(path):
    """Write the SYNTHETIC recording of cell 464198958 (see above) to ``path``; its expected spikes."""
    from celltypes.atlas.selectors.models import glif_config_read, held_model_get
    from celltypes.science.glif import simulate
    from celltypes.science.nwb.records import NwbRecording
    from celltypes.science.nwb.write import write_allen_nwb1

    n = int(2.5 * SYNTHETIC_RATE)
    square = np.zeros(n)
    square[int(1.02 * SYNTHETIC_RATE) : int(2.02 * SYNTHETIC_RATE)] = 70e-12
    square_spikes = np.linspace(1.05, 1.95, SYNTHETIC_LONG_SQUARE_SPIKES)
    square_steps = np.rint(square_spikes * SYNTHETIC_RATE).astype(int)
    sweeps = [_synthetic_sweep(29, "Long Square", square, _with_spikes(n, square_steps), square_spikes)]
    noise = synthetic_noise_stimulus()
    config = glif_config_read(held_model_get(model_id=SYNTHETIC_NOISE_MODEL))
    model_steps = simulate(config, noise, 1 / SYNTHETIC_RATE).spike_steps
    for number in (38, 40, 42):
        response = _with_spikes(len(noise), model_steps)
        sweeps.append(_synthetic_sweep(number, "Noise 2", noise, response, model_steps / SYNTHETIC_RATE))
    recording = NwbRecording(
        path="synthetic.nwb", layout="memory", nwb_version="-", name="SYNTHETIC", name_source="-", sweeps=sweeps
    )
    write_allen_nwb1(recording, path)
    return {"square_spikes": square_spikes, "noise_model_steps": model_steps}


def forget_synthetic_nwb() -> None:
    """Remove the held copy, its fetch records and the sweeps read from it."""
    from celltypes.atlas import filestore
    from celltypes.atlas.selectors import models as model_selectors

    filestore.well_known_file_path(SYNTHETIC_NWB_FILE_ID).unlink(missing_ok=True)
    for suffix in ("json", "marker"):
        filestore.derived_path("fetch", f"{SYNTHETIC_NWB_FILE_ID}.{suffix}").unlink(missing_ok=True)
    model_selectors._recorded_sweep.cache_clear()


@pytest.fixture
def held_synthetic_nwb(tmp_path):
    from celltypes.atlas import filestore

    expected = write_synthetic_nwb(tmp_path / "synthetic.nwb")
    filestore.store_well_known_file(SYNTHETIC_NWB_FILE_ID, tmp_path / "synthetic.nwb")
    yield expected
    forget_synthetic_nwb()
