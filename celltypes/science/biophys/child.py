"""The process that runs NEURON: one model, one stimulus, then exit (started by ``run.py``).

It reads ``job.json`` from its working directory, loads the compiled mechanisms, builds the cell, plays
the stimulus and steps the simulation in 1 % chunks, writing ``progress <fraction>`` lines to the channel
it was given as stdout; at the end it writes ``result.npz`` (via a temporary name) and ``done``. Anything
NEURON itself prints goes to stderr, so it cannot garble the channel. Errors it can name are written as
``error <message>`` before a non-zero exit.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import BiophysError
from .mechanisms import CompiledMechanisms, load_mechanisms
from .model import AxonType, BiophysicalFit, ModelType, build_cell

PROGRESS_STEPS = 100
JOB_FILE = "job.json"
STIMULUS_FILE = "stimulus.npy"
RESULT_FILE = "result.npz"


def main(workdir: str) -> int:
    channel = _take_stdout()
    try:
        job = json.loads((Path(workdir) / JOB_FILE).read_text())
        _limit_memory(job.get("memory_limit_mb"))
        result = simulate(job, np.load(Path(workdir) / STIMULUS_FILE), lambda f: _say(channel, f"progress {f:.4f}"))
        partial = Path(workdir) / f".{RESULT_FILE}"
        with partial.open("wb") as fh:
            np.savez(fh, **result)
        partial.rename(Path(workdir) / RESULT_FILE)
        _say(channel, "done")
        return 0
    except (BiophysError, OSError, ValueError, KeyError, RuntimeError, MemoryError) as error:
        _say(channel, f"error {type(error).__name__}: {error}".replace("\n", " "))
        return 3


def simulate(job: dict[str, Any], current: np.ndarray, on_progress: Any) -> dict[str, np.ndarray]:
    """Build the model of ``job`` and run it with ``current`` (nA); return t (s) and v (mV) as Allen writes them."""
    from neuron import h

    load_mechanisms(
        CompiledMechanisms(
            digest=job["mechanisms_digest"], directory=Path(job["mechanisms_dir"]), library=Path(job["library"])
        )
    )
    fit = BiophysicalFit.from_dict(job["fit"])
    build_cell(h, fit, job["swc_path"], ModelType(job["model_type"]), AxonType(job["axon_type"]))

    stimulus_rate = int(job["sampling_rate"])
    simulation_rate = int(job["simulation_rate"])
    clamp = h.IClamp(h.soma[0](0.5))
    clamp.amp = 0
    clamp.delay = 0
    clamp.dur = 1e12  # on for the whole run; the played vector shapes it
    played = h.Vector(current)
    played.play(clamp._ref_amp, 1000.0 / stimulus_rate)
    h.dt = 1000.0 / simulation_rate
    h.tstop = (current.size - 1) * 1000.0 / stimulus_rate

    v_recorded, t_recorded = h.Vector(), h.Vector()
    v_recorded.record(h.soma[0](0.5)._ref_v)
    t_recorded.record(h._ref_t)
    started = time.monotonic()
    h.stdinit()  # what h.run() does first: dt checked against steps_per_ms, finitialize(v_init)
    tstop = float(h.tstop)
    for step in range(1, PROGRESS_STEPS + 1):
        h.continuerun(tstop if step == PROGRESS_STEPS else tstop * step / PROGRESS_STEPS)
        on_progress(step / PROGRESS_STEPS)
    elapsed = time.monotonic() - started

    t = t_recorded.as_numpy().copy()
    v = v_recorded.as_numpy().copy()
    factor = simulation_rate // stimulus_rate
    if factor > 1:  # back to the stimulus rate: block means of v, block starts of t (complete blocks only)
        blocks = min(t.size // factor, current.size)
        v = v[: blocks * factor].reshape(blocks, factor).mean(axis=1)
        t = t[: blocks * factor : factor]
    return {
        "t": t / 1000.0,
        "v": v - fit.junction_potential,
        "simulation_seconds": np.array(elapsed),
        "dt": np.array(float(h.dt)),
    }


def _take_stdout() -> IO[str]:
    """Keep the real stdout as the progress channel and send fd 1 (NEURON's prints) to stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _say(channel: IO[str], line: str) -> None:
    channel.write(line + "\n")
    channel.flush()


def _limit_memory(megabytes: int | None) -> None:
    if megabytes:
        limit = int(megabytes) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
