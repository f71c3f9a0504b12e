"""The f-I curve of a biophysical model: its spike counts on 1 s steps at the cell's Long Square amplitudes.

One worker task runs every step (each run is cached as any run of the model, so the run form reuses them) and
reports its progress over all of them; the curve is cached as
``derived/simulations/<model id>/fi-<digest of the parameter file, amplitudes and mechanisms>.json``. Limits: at
most :data:`MAX_AMPLITUDES` positive amplitudes (evenly chosen from the cell's when it has more) of
:data:`STEP_SECONDS` each; a negative or zero step is not simulated (the plot shows the amplitudes run).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from celltypes.atlas import filestore
from celltypes.atlas.bundled import ALLEN_MODFILES
from celltypes.atlas.selectors.models import (
    ALL_ACTIVE,
    PERISOMATIC,
    HeldModel,
    cell_protocol_get,
    model_swc_path,
    recorded_fi_curve,
)
from celltypes.atlas.services.simulations import (
    StimulusSpec,
    biophysical_run,
    biophysical_unavailable_reason,
    json_result_cached,
    queue_run_once,
)
from celltypes.atlas.vocabulary import FITTED_RECONSTRUCTION_NOT_HELD
from celltypes.science import biophys

BIOPHYSICAL_FI_TASK = "atlas.biophysical_fi_curve"
MAX_AMPLITUDES = 10
STEP_START_S = 0.1
STEP_SECONDS = 1.0  # as Allen's Long Square
STEP_TAIL_S = 0.1
FI_WALL_LIMIT_S = 900.0  # 10 all-active steps took 185 s on a busy machine here; within the broker visibility


def fi_amplitudes(recorded_amplitudes: list[float]) -> list[float]:
    """The positive amplitudes (pA) to simulate: all of the cell's, or :data:`MAX_AMPLITUDES` evenly chosen."""
    positive = sorted({round(a, 1) for a in recorded_amplitudes if a > 0})
    if len(positive) <= MAX_AMPLITUDES:
        return positive
    picks = np.linspace(0, len(positive) - 1, MAX_AMPLITUDES).round().astype(int)
    return [positive[i] for i in sorted(set(picks.tolist()))]


def model_fi_amplitudes(held: HeldModel) -> list[float]:
    """The amplitudes a model's f-I curve is run at: from its cell's Long Square sweeps."""
    protocol = cell_protocol_get(specimen_id=held.model.specimen_id)
    return fi_amplitudes([amplitude for amplitude, _ in recorded_fi_curve(protocol)])


def fi_step(amplitude_pa: float) -> StimulusSpec:
    total = STEP_START_S + STEP_SECONDS + STEP_TAIL_S
    return StimulusSpec("step", amplitude_pa, STEP_START_S, STEP_SECONDS, total)


def fi_curve_path(held: HeldModel, amplitudes: list[float]) -> Path:
    wkf = held.parameters_file
    mechanisms = biophys.mechanisms_digest(ALLEN_MODFILES)
    key = json.dumps([wkf.sha256 or wkf.id if wkf else None, amplitudes, STEP_SECONDS, mechanisms])
    return filestore.derived_path("simulations", str(held.id), f"fi-{hashlib.sha256(key.encode()).hexdigest()}.json")


def biophysical_fi_curve(held: HeldModel, on_progress: Callable[[float], None] | None = None) -> Path:
    """Run the model on each step (the worker's job) and cache the curve: [[pA, Hz], ...]; its path."""
    amplitudes = model_fi_amplitudes(held)

    def curve() -> dict[str, Any]:
        points, wall = [], 0.0
        for index, amplitude in enumerate(amplitudes):

            def step_progress(fraction: float, index: int = index) -> None:
                if on_progress is not None:
                    on_progress((index + fraction) / len(amplitudes))

            with np.load(biophysical_run(held, fi_step(amplitude), on_progress=step_progress)) as run:
                spikes, wall = run["spike_times"], wall + float(run["wall_seconds"])
            inside = (spikes >= STEP_START_S) & (spikes < STEP_START_S + STEP_SECONDS)
            points.append([amplitude, int(inside.sum()) / STEP_SECONDS])
        return {"state": "done", "points": points, "step_seconds": STEP_SECONDS, "wall_seconds": round(wall, 1)}

    return json_result_cached(fi_curve_path(held, amplitudes), curve)


def biophysical_fi_request(held: HeldModel) -> dict[str, Any]:
    """The cached curve, the worker's progress (queued once), or why it cannot be computed here."""
    if held.kind not in (PERISOMATIC, ALL_ACTIVE):
        return {"state": "unavailable", "error": f"model {held.id} is not a biophysical model"}
    reason = biophysical_unavailable_reason()
    if reason is None and model_swc_path(held) is None:
        reason = FITTED_RECONSTRUCTION_NOT_HELD.format(model_id=held.id)
    if reason:
        return {"state": "unavailable", "error": reason}
    amplitudes = model_fi_amplitudes(held)
    if not amplitudes:
        return {"state": "unavailable", "error": "the cell's sweep table has no positive Long Square amplitude"}
    path = fi_curve_path(held, amplitudes)
    return queue_run_once(
        path,
        BIOPHYSICAL_FI_TASK,
        [held.id],
        kind="fi",
        stale_after=FI_WALL_LIMIT_S + 60,
        done=lambda: json.loads(path.read_text()),
    )
