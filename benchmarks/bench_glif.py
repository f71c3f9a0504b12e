"""Time our GLIF simulator against the AllenSDK's GlifNeuron on the same configs, stimuli and dt.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_glif.py [--all] [--repeats 5]

The configs and stimuli are the reference test's (tests/glif_cases.py): a long square at 1.5x rheobase and
pink noise, at the config's dt and at 200 kHz. By default one config per source and level (--all: every
runnable demo config). The SDK runs in its own venv (SDK_VENV, default .sdkvenv) through
tests/compat/glif_sdk_runner.py, which times ``GlifNeuron.run`` inside that process; ours is timed here, after
a first call that compiles. Prints medians of microseconds per stimulus step, by level, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from celltypes.science.errors import InvalidFileError  # noqa: E402
from celltypes.science.glif import HAS_NUMBA, load_config, rheobase, simulate  # noqa: E402
from tests.glif_cases import case_name, demo_glif_config_paths, raw_body, source_name, stimulus_cases  # noqa: E402

RUNNER = REPO / "tests" / "compat" / "glif_sdk_runner.py"


def chosen_configs(every: bool) -> list[Path]:
    chosen, seen = [], set()
    for path in demo_glif_config_paths():
        try:
            level = load_config(path).level
        except InvalidFileError:
            continue  # the SDK cannot run these either
        if every or (source_name(path), level) not in seen:
            seen.add((source_name(path), level))
            chosen.append(path)
    return chosen


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="every runnable demo config, not one per source/level")
    parser.add_argument("--repeats", type=int, default=5, help="runs per case (ours and the SDK's)")
    args = parser.parse_args()
    sdk_python = Path(os.environ.get("SDK_VENV", REPO / ".sdkvenv")) / "bin" / "python"
    if not sdk_python.exists():
        sys.exit(f"the AllenSDK venv is missing ({sdk_python}): run scripts/make_sdk_venv.sh")

    work = Path(tempfile.mkdtemp(prefix="bench_glif_"))
    jobs, ours = [], {}
    first_call = None
    for index, path in enumerate(chosen_configs(args.all)):
        config = load_config(path)
        for number, case in enumerate(stimulus_cases(config, rheobase(config))):
            job_id = f"{index:03d}-{number}"
            np.save(work / f"{job_id}.npy", case.stimulus)
            jobs.append({"id": job_id, "config": raw_body(path), "stimulus": str(work / f"{job_id}.npy")})
            jobs[-1].update(dt=case.dt, repeats=args.repeats)
            if first_call is None:
                start = time.perf_counter()
                simulate(config, case.stimulus, case.dt)
                first_call = time.perf_counter() - start
            steps = len(case.stimulus)
            compiled = median_seconds(lambda c=config, k=case: simulate(c, k.stimulus, k.dt), args.repeats)
            python = median_seconds(lambda c=config, k=case: simulate(c, k.stimulus, k.dt, compiled=False), 1)
            ours[job_id] = (config.level, case_name(path), case.label, steps, compiled / steps, python / steps)
    (work / "jobs.json").write_text(json.dumps(jobs))
    subprocess.run([str(sdk_python), str(RUNNER), str(work / "jobs.json"), str(work)], check=True, timeout=3600)
    summary = json.loads((work / "summary.json").read_text())

    rows: dict[str, list[tuple[float, float, float]]] = {}
    for job_id, (level, _name, _label, steps, compiled, python) in ours.items():
        sdk = statistics.median(summary[job_id]["seconds"]) / steps
        for key in (f"GLIF{level}", "all"):
            rows.setdefault(key, []).append((sdk, compiled, python))
    print(f"numba: {'yes' if HAS_NUMBA else 'no (compiled = the Python loop)'}; first call {first_call:.2f} s")
    print(f"{len(ours)} runs (config x stimulus x dt), {args.repeats} repeats each; medians of us per stimulus step")
    print(f"{'level':<6} {'runs':>5} {'SDK':>10} {'ours':>10} {'SDK/ours':>9} {'ours, Python':>13} {'SDK/Python':>11}")
    for key in sorted(rows, key=lambda k: (k == "all", k)):
        sdk, compiled, python = (statistics.median(column) * 1e6 for column in zip(*rows[key], strict=True))
        print(
            f"{key:<6} {len(rows[key]):>5} {sdk:>10.3f} {compiled:>10.4f} {sdk / compiled:>8.0f}x "
            f"{python:>13.3f} {sdk / python:>10.1f}x"
        )


if __name__ == "__main__":
    main()
