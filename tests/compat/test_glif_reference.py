"""Our GLIF simulator against the AllenSDK's ``GlifNeuron`` (2.16.2, its own venv) on every GLIF config in the
demo set: the 19 OpenSourceBrain bundles, the Teeter et al. 2018 GLIF1-5 fits and bmtk's configs.

Each runnable config is driven by a long square at 1.5x its threshold current (the rheobase our simulator finds
by bisection) and by seeded pink noise, at the config's dt and at 200 kHz (tests/glif_cases.py). Spike steps
must agree within one step, interpolated spike times within dt, voltages and thresholds within 1e-6 of the
trace's largest magnitude. A config the SDK cannot run must fail in the SDK and be refused by ours with a
message naming what it lacks. With ``-s`` the test prints one line per run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from celltypes.science import stimuli
from celltypes.science.errors import InvalidFileError, ScienceError
from celltypes.science.glif import GlifConfig, load_config, rheobase, simulate
from tests.glif_cases import (
    LACKING_B_SPIKE,
    case_name,
    demo_glif_config_paths,
    raw_body,
    source_name,
    stimulus_cases,
    synthetic_bodies,
)

pytestmark = pytest.mark.compat

RUNNER = Path(__file__).with_name("glif_sdk_runner.py")
PATHS = demo_glif_config_paths()
RELATIVE_TOLERANCE = 1e-6
ROWS: list[str] = []


@pytest.fixture(scope="module")
def sdk_runs(sdk_python, tmp_path_factory):
    """Runs the SDK once on every job; yields {config name: [job dict + "sdk" summary entry]}."""
    work = tmp_path_factory.mktemp("glif_sdk")
    jobs = []
    for index, path in enumerate(PATHS):
        body = raw_body(path)
        try:
            config = load_config(path)
        except InvalidFileError:
            # Ours refuses it; show the SDK fails too, on a step that must spike (twice th_inf / R_input).
            coefficient = body.get("coeffs", {}).get("th_inf", 1)
            current = 2 * body["th_inf"] * coefficient / body["R_input"]
            cases = [("refused config", body["dt"], np.full(int(0.3 / body["dt"]), current))]
        else:
            cases = [(case.label, case.dt, case.stimulus) for case in stimulus_cases(config, rheobase(config))]
        for number, (label, dt, stimulus) in enumerate(cases):
            job_id = f"{index:03d}-{number}"
            np.save(work / f"{job_id}.npy", stimulus)
            jobs.append(
                {"id": job_id, "config": body, "stimulus": str(work / f"{job_id}.npy"), "dt": dt, "label": label}
            )
    (work / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run(
        [str(sdk_python), str(RUNNER), str(work / "jobs.json"), str(work)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((work / "summary.json").read_text())
    by_config: dict[str, list[dict]] = {}
    for job in jobs:
        name = case_name(PATHS[int(job["id"].split("-")[0])])
        by_config.setdefault(name, []).append({**job, "sdk": summary[job["id"]], "npz": work / f"{job['id']}.npz"})
    yield by_config
    print("\nconfig | level | stimulus | spikes | max spike step diff | max interp. time diff (s) | max rel. V diff")
    print("\n".join(ROWS))


@pytest.mark.parametrize("path", PATHS, ids=case_name)
def test_glif_neuron_matches_the_allensdk(path, sdk_runs):
    name = case_name(path)
    runs = sdk_runs[name]
    if name in LACKING_B_SPIKE:
        with pytest.raises(InvalidFileError, match="needs parameter b_spike, which this config lacks"):
            load_config(path)
        (run,) = runs
        assert "b_spike" in run["sdk"].get("error", ""), run["sdk"]
        ROWS.append(f"{name} | - | refused | - | SDK: {run['sdk']['error']} |  | ")
        return
    config = load_config(path)
    assert len(runs) == 4
    for run in runs:
        assert "error" not in run["sdk"], f"{name}, {run['label']}: {run['sdk']}"
        _compare(config, name, run)


def test_every_demo_config_is_run_or_refused(sdk_runs):
    assert {source_name(path) for path in PATHS} == {"OSB", "Teeter", "bmtk"}
    assert len(sdk_runs) == len(PATHS) >= 97
    refused = {name for name, runs in sdk_runs.items() if runs[0]["label"] == "refused config"}
    assert refused == set(LACKING_B_SPIKE)


def test_synthetic_edge_cases_match_the_allensdk(sdk_python, tmp_path):
    bodies = synthetic_bodies()
    jobs = []
    for number, body in enumerate(bodies.values()):
        stimulus = stimuli.long_square(amplitude=200e-12, start=0.05, duration=0.25, total=0.3, dt=body["dt"])
        np.save(tmp_path / f"{number}.npy", stimulus)
        jobs.append({"id": str(number), "config": body, "stimulus": str(tmp_path / f"{number}.npy"), "dt": body["dt"]})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run(
        [str(sdk_python), str(RUNNER), str(tmp_path / "jobs.json"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    for job, (label, body) in zip(jobs, bodies.items(), strict=True):
        config = GlifConfig.from_dict(body)
        run = {**job, "label": label, "sdk": summary[job["id"]], "npz": tmp_path / f"{job['id']}.npz"}
        if label == "none reset":
            assert summary[job["id"]] == {"error": "Exception: You are running a LIF but the AScurrents are not zero!"}
            with pytest.raises(ScienceError, match="non-zero after-spike currents"):
                simulate(config, np.load(job["stimulus"]))
            continue
        assert "error" not in run["sdk"], run["sdk"]
        _compare(config, f"synthetic {label}", run)
    assert simulate(GlifConfig.from_dict(bodies["bad reset"]), np.load(jobs[0]["stimulus"])).stopped_at_step


def _compare(config: GlifConfig, name: str, run: dict) -> None:
    ours = simulate(config, np.load(run["stimulus"]), run["dt"]).to_sdk_dict()
    with np.load(run["npz"]) as sdk:
        reference = {key: sdk[key] for key in sdk.files}
    where = f"{name}, {run['label']}"
    ours_steps, sdk_steps = ours["spike_time_steps"], reference["spike_time_steps"]
    assert len(ours_steps) == len(sdk_steps), f"{where}: {len(ours_steps)} spikes vs the SDK's {len(sdk_steps)}"
    step_diff = int(np.max(np.abs(ours_steps - sdk_steps), initial=0))
    time_diff = float(
        np.max(np.abs(ours["interpolated_spike_times"] - reference["interpolated_spike_times"]), initial=0)
    )
    assert step_diff <= 1, where
    assert time_diff <= run["dt"], where
    diffs = {}
    for key in ("voltage", "threshold", "AScurrents"):
        both = np.isfinite(ours[key]) & np.isfinite(reference[key])
        scale = np.max(np.abs(reference[key][both]), initial=0.0)
        diffs[key] = (
            float(np.max(np.abs(ours[key][both] - reference[key][both]), initial=0.0) / scale) if scale else 0.0
        )
        assert diffs[key] <= RELATIVE_TOLERANCE, f"{where}: {key} differs by {diffs[key]:.3g} of its range"
    ROWS.append(
        f"{name} | GLIF{config.level} | {run['label']} | {len(sdk_steps)} | {step_diff} | {time_diff:.3g} | "
        f"{diffs['voltage']:.3g}"
    )
