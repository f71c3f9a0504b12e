"""Allen's explained variance ratio of a GLIF model, computed here from the cell's held noise recordings.

Where the cell's NWB file is held with at least two repeats of Noise 2 (else Noise 1), the worker runs the
model on the first repeat's stimulus at the recording's time step and measures, as Teeter et al. 2018 do
(``celltypes.science.glif.explained_variance``), how well its spike train explains the recorded repeats. The
result is cached as ``derived/simulations/<model id>/ev-<digest>.json``, keyed by the parameter file, the
held NWB file and the sweeps used. Where the recordings are not held, the page says so and nothing is queued.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from celltypes.atlas import filestore
from celltypes.atlas.selectors.models import (
    GLIF,
    NOISE_STIMULI,
    HeldModel,
    HeldRecording,
    glif_config_read,
    held_recording_get,
    recorded_sweep_read,
)
from celltypes.atlas.services.simulations import GLIF_MAX_STEPS, json_result_cached, queue_run_once
from celltypes.atlas.vocabulary import EXPLAINED_VARIANCE_GLIF_ONLY
from celltypes.science.errors import ScienceError
from celltypes.science.glif import simulate
from celltypes.science.glif.explained_variance import ALLEN_SIGMA, spike_indexes, spike_train_explained_variance

EXPLAINED_VARIANCE_TASK = "atlas.glif_explained_variance"
EXPLAINED_VARIANCE_WALL_LIMIT_S = 300.0
MIN_REPEATS = 2


class ExplainedVarianceUnavailable(Exception):
    """Why the explained variance cannot be computed here (the message says it plainly)."""


def noise_sweeps(recording: HeldRecording) -> tuple[str, list[int]]:
    """The noise stimulus to measure on and its held repeats: Noise 2 (held out of Allen's fits), else Noise 1."""
    if not recording.held:
        raise ExplainedVarianceUnavailable(
            "Not computed here: the cell's Noise 1 and Noise 2 recordings are not held (its NWB file is not)."
        )
    for name in NOISE_STIMULI:
        numbers = recording.numbers(name)
        if len(numbers) >= MIN_REPEATS:
            return name, numbers
    raise ExplainedVarianceUnavailable(
        f"Not computed here: the held recording has fewer than {MIN_REPEATS} repeats of Noise 2 or of Noise 1."
    )


def explained_variance_path(held: HeldModel, recording: HeldRecording, sweeps: list[int]) -> Path:
    nwb = filestore.well_known_file_path(recording.file_id)
    stat = nwb.stat()
    wkf = held.parameters_file
    key = json.dumps([wkf.sha256 or wkf.id if wkf else None, recording.file_id, stat.st_size, stat.st_mtime_ns, sweeps])
    digest = hashlib.sha256(key.encode()).hexdigest()
    return filestore.derived_path("simulations", str(held.id), f"ev-{digest}.json")


def glif_explained_variance(held: HeldModel) -> dict[str, Any]:
    """Run the model on the held noise repeats and measure it (seconds: the worker's job)."""
    recording = held_recording_get(specimen_id=held.model.specimen_id)
    name, numbers = noise_sweeps(recording)
    repeats = [recorded_sweep_read(recording, number) for number in numbers]
    rate = repeats[0].sampling_rate
    if any(r.sampling_rate != rate for r in repeats):
        raise ScienceError(f"the {name} repeats are sampled at different rates")
    steps = min(len(r.stimulus) for r in repeats)
    if steps > GLIF_MAX_STEPS:
        raise ScienceError(f"the {name} repeats are {steps} samples long; runs here stop at {GLIF_MAX_STEPS} steps")
    dt = 1.0 / rate
    result = simulate(glif_config_read(held), repeats[0].stimulus[:steps], dt)
    data = [indexes[indexes < steps] for indexes in (spike_indexes(r.spike_times, dt) for r in repeats)]
    measured = spike_train_explained_variance(data, [np.asarray(result.spike_steps)], steps=steps, dt=dt)
    return {
        "state": "done",
        "ratio": round(measured.ratio, 6),
        "data": round(measured.data, 6),
        "model": round(measured.model, 6),
        "stimulus_name": name,
        "sweeps": numbers,
        "repeats": measured.repeats,
        "sigma_ms": ALLEN_SIGMA * 1e3,
        "model_spikes": result.spike_count,
        "recorded_spikes": [int(len(d)) for d in data],
        "spikes_detected_here": any(r.spikes_detected_here for r in repeats),
    }


def glif_explained_variance_cached(held: HeldModel) -> Path:
    """The worker's job: compute and cache the measure (a failure is cached too, as its message)."""
    recording = held_recording_get(specimen_id=held.model.specimen_id)
    _, numbers = noise_sweeps(recording)

    def measure() -> dict[str, Any]:
        try:
            return glif_explained_variance(held)
        except (ScienceError, LookupError, OSError) as error:
            return {"state": "failed", "error": f"the explained variance cannot be computed: {error}"}

    return json_result_cached(explained_variance_path(held, recording, numbers), measure)


def glif_explained_variance_request(held: HeldModel) -> dict[str, Any]:
    """The cached measure, the worker's state (queued once), or why it is not computed here."""
    if held.kind != GLIF:
        return {"state": "unavailable", "error": f"{EXPLAINED_VARIANCE_GLIF_ONLY}."}
    recording = held_recording_get(specimen_id=held.model.specimen_id)
    try:
        _, numbers = noise_sweeps(recording)
    except ExplainedVarianceUnavailable as reason:
        return {"state": "unavailable", "error": str(reason)}
    path = explained_variance_path(held, recording, numbers)
    return queue_run_once(
        path,
        EXPLAINED_VARIANCE_TASK,
        [held.id],
        kind="ev",
        stale_after=EXPLAINED_VARIANCE_WALL_LIMIT_S + 60,
        done=lambda: json.loads(path.read_text()),
    )
