"""Time the biophysical runner: compiling Allen's 16 mechanisms, and a 3 s run of a perisomatic and of an
all-active model (fit 468193142 on its cell, the AllenSDK's reference step: 1 s at the soma from 1 s on).

Run from the repository root with the project venv (NEURON installed):

    .venv/bin/python benchmarks/bench_biophys.py [--repeats 3]

Compiling happens once, into a temporary cache; a second lookup of the same digest is timed too. Each run
is timed end to end (a fresh NEURON process: start, model build, simulation, result) and the simulation
loop alone; the medians of ``--repeats`` runs are printed, with the CPU time of the NEURON processes
(the machine may be shared).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from celltypes.science.biophys import (  # noqa: E402
    ModelType,
    Stimulus,
    compiled_mechanisms,
    neuron_unavailable_reason,
    run_model,
)

SDK_MODELS = REPO / "celltypes" / "atlas" / "demo_data" / "AllenSDK" / "allensdk" / "test" / "model"
MODFILES = SDK_MODELS / "peri_model" / "modfiles"
SWC = SDK_MODELS / "aa_model" / "Scnn1a-Tg3-Cre_Ai14-177297.06.01.01_491120155_m.swc"
MODELS = {
    "perisomatic": (SDK_MODELS / "peri_model" / "468193142_fit.json", ModelType.PERISOMATIC, 0.35),
    "all-active": (SDK_MODELS / "aa_model" / "468193142_fit.json", ModelType.ALL_ACTIVE, 0.33),
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the NEURON processes, once they have exited
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if reason := neuron_unavailable_reason():
        print(f"skipped: {reason}")
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-biophys-") as cache:
        started, before = time.monotonic(), _children_cpu()
        compiled_mechanisms(MODFILES, cache)
        compile_seconds, compile_cpu = time.monotonic() - started, _children_cpu() - before
        started = time.monotonic()
        compiled_mechanisms(MODFILES, cache)
        lookup_ms = 1000 * (time.monotonic() - started)
        print(
            f"compile 16 mechanisms: {compile_seconds:.1f} s wall (CPU {compile_cpu:.1f} s); "
            f"cached lookup {lookup_ms:.1f} ms"
        )
        for name, (fit, model_type, amplitude) in MODELS.items():
            stimulus = Stimulus.square_step(amplitude=amplitude, delay=1000, duration=1000, tstop=3000)
            runs, cpu = [], []
            for _ in range(args.repeats):
                before = _children_cpu()
                runs.append(
                    run_model(
                        fit=fit,
                        swc_path=SWC,
                        model_type=model_type,
                        stimulus=stimulus,
                        modfiles_dir=MODFILES,
                        mechanisms_cache_dir=cache,
                    )
                )
                cpu.append(_children_cpu() - before)
            wall = statistics.median(r.wall_seconds for r in runs)
            loop = statistics.median(r.simulation_seconds for r in runs)
            print(
                f"{name:12s} 3 s at dt {runs[0].dt} ms: {wall:.2f} s wall (median of {args.repeats}; "
                f"CPU {statistics.median(cpu):.2f} s), simulation loop {loop:.2f} s wall, "
                f"{len(runs[0].spike_times)} spikes"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
