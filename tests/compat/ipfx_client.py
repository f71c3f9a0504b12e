"""Run Allen's ipfx (its own venv, scripts/ipfx_reference.py) on arrays of ours; used by the compat test
and benchmarks/bench_ephys.py."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "scripts" / "ipfx_reference.py"


def run_ipfx(
    python: Path,
    sweeps: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, float, float]],
    workdir: Path,
    cells: Sequence[dict] = (),
    extra_arrays: Sequence[str] = (),
    repeat: int = 0,
    timeout: float = 600.0,
) -> dict:
    """ipfx's spike tables, sweep features and (for ``cells``) cell records of ``sweeps``.

    ``sweeps`` maps a key to (t s, v mV, i pA, start s, end s); ``extra_arrays`` are keys of ``sweeps``
    passed only as arrays (e.g. ramps, analysed inside a cell). With ``repeat`` each sweep is also timed.
    """
    arrays, spec = {}, {"sweeps": [], "cells": list(cells), "repeat": repeat}
    for key, (t, v, i, start, end) in sweeps.items():
        arrays[f"t_{key}"], arrays[f"v_{key}"], arrays[f"i_{key}"] = t, v, i
        if key not in extra_arrays:
            spec["sweeps"].append({"key": key, "start": start, "end": end})
    np.savez(workdir / "sweeps.npz", **arrays)
    (workdir / "spec.json").write_text(json.dumps(spec))
    done = subprocess.run(
        [str(python), str(RUNNER), str(workdir / "spec.json"), str(workdir / "sweeps.npz")],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ipfx failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)
