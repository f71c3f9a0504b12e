"""Time spike + sweep feature extraction, ours vs ipfx 2.1.2, and the sweep browser's first paint (server time and
payload) for a real 1.45 s 50 kHz sweep and a synthetic 10 s 200 kHz one, side by side in one run.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_ephys.py [--repeats 15]

ipfx runs in its own venv (scripts/make_ipfx_venv.sh builds .ipfxvenv; IPFX_VENV overrides) and times
itself there (``SpikeFeatureExtractor.process`` + ``SpikeTrainFeatureExtractor.process`` with the Long
Square extras), on the same arrays: the five real Long Square windows and two synthetic sweeps. Ours times
``CurrentClampSweep`` spike detection + every spike and sweep feature. Our runs come before and after
ipfx's process and the median of all of them is shown (the machine is shared). Agreement columns: the
largest differences over all spikes (times in samples, voltages in mV, upstroke/downstroke/width in %).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from celltypes.science.ephys.nwb_sweeps import clamp_arrays  # noqa: E402
from celltypes.science.ephys.spikes import SPIKE_FEATURES  # noqa: E402
from celltypes.science.ephys.sweep_features import CurrentClampSweep  # noqa: E402
from celltypes.science.ephys.trace_view import (  # noqa: E402
    INLINE_ANALYSIS_SAMPLES,
    analyse_current_clamp,
    analysis_payload,
    current_clamp_view,
)
from celltypes.science.nwb import read_sweep  # noqa: E402
from tests.compat.ipfx_client import run_ipfx  # noqa: E402
from tests.support.synthetic_nwb import write_synthetic_nwb2  # noqa: E402
from tests.unit.science import ephys_synthetic as synthetic  # noqa: E402
from tests.unit.science.ephys_real import REAL_SWEEPS, real_clamp_sweep  # noqa: E402

IPFX_PYTHON = Path(os.environ.get("IPFX_VENV", REPO / ".ipfxvenv")) / "bin" / "python"


def timings(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()
    out = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def extract(sweep: CurrentClampSweep) -> None:
    fresh = CurrentClampSweep(sweep.t, sweep.v, sweep.i, sweep.start, sweep.end)
    fresh.spikes.features()
    fresh.features()


def agreement(sweep: CurrentClampSweep, theirs: dict) -> str:
    ours = sweep.spikes.features()
    dt = sweep.t[1] - sweep.t[0]
    if len(sweep.spikes) != len(theirs["threshold_index"]):
        return "DIFFERENT SPIKES"

    def worst(names: list[str], scale: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
        values = [0.0]
        for name in names:
            want = np.array([np.nan if x is None else x for x in theirs[name]], dtype=float)
            if SPIKE_FEATURES[name].unit == "ms":
                want = want * 1e3
            values.append(float(np.nanmax(scale(ours[name], want), initial=0.0)))
        return max(values)

    times = worst(["threshold_t", "peak_t", "trough_t", "fast_trough_t"], lambda a, b: np.abs(a - b) / dt)
    volts = worst(
        ["threshold_v", "peak_v", "trough_v", "fast_trough_v", "slow_trough_v", "adp_v"], lambda a, b: np.abs(a - b)
    )
    shape = worst(["upstroke", "downstroke", "width"], lambda a, b: np.abs(a / b - 1) * 100)
    return f"{times:5.1f} {volts:8.1e} {shape:8.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    cases = {f"real {specimen}": real_clamp_sweep(specimen) for specimen in REAL_SWEEPS}
    for made in (synthetic.synthetic_variety()[0], synthetic.synthetic_variety()[3]):
        cases[made.name] = CurrentClampSweep(made.t, made.v, made.i, made.start, made.end)

    ours_before = {name: timings(lambda s=s: extract(s), args.repeats) for name, s in cases.items()}
    ipfx = None
    if IPFX_PYTHON.exists():
        arrays = {name.replace(" ", "_"): (s.t, s.v, s.i, s.start, s.end) for name, s in cases.items()}
        with tempfile.TemporaryDirectory() as work:
            ipfx = run_ipfx(IPFX_PYTHON, arrays, Path(work), repeat=args.repeats)["sweeps"]
    else:
        print(f"ipfx venv missing ({IPFX_PYTHON}); run scripts/make_ipfx_venv.sh", file=sys.stderr)
    ours_after = {name: timings(lambda s=s: extract(s), args.repeats) for name, s in cases.items()}

    print(f"spike + sweep features, median of {2 * args.repeats} (ours) / {args.repeats} (ipfx) runs, ms")
    header = f"{'sweep':<26} {'samples':>8} {'spikes':>6} {'ours':>6} {'ipfx':>6} {'ratio':>6}"
    print(header + "   max Δ: t(samples) V(mV) shape(%)")
    ratios = []
    for name, sweep in cases.items():
        ours = statistics.median(ours_before[name] + ours_after[name]) * 1e3
        line = f"{name:<26} {len(sweep.v):>8} {len(sweep.spikes):>6} {ours:6.2f}"
        if ipfx:
            theirs = ipfx[name.replace(" ", "_")]
            ratios.append(theirs["time_ms"] / ours)
            line += f" {theirs['time_ms']:6.2f} {ratios[-1]:6.1f}   {agreement(sweep, theirs['spikes'])}"
        print(line)
    if ratios:
        print(f"{'median ratio (ipfx / ours)':<49} {statistics.median(ratios):6.1f}  min {min(ratios):.1f}")

    first_paint(cases[f"real {next(iter(REAL_SWEEPS))}"], synthetic.synthetic_long_sweep(), args.repeats)


def first_paint(real: CurrentClampSweep, long, repeats: int) -> None:
    """The sweep browser's JSON as /cell/<id>/ephys/sweep/<n>.json builds it (trace_view + orjson) from the samples
    the endpoint keeps per process: the first paint (a trace of at most INLINE_ANALYSIS_SAMPLES with its spikes
    found in the request, a longer one without them, "to follow"), the follow-up analysis.json, and a 100 ms zoom
    once analysed. Then the first read of the 2,000,000-sample sweep from an NWB 2 file (before it is cached)."""
    print(f"\nfirst paint, server side (trace_view + orjson, as the endpoint answers), median of {repeats} runs")
    print(
        f"{'sweep':<30} {'samples':>9} {'first paint':>11} {'bytes':>8} {'gzip':>7} {'spikes':>10}"
        f" {'analysis.json':>13} {'zoom 100 ms':>11}"
    )
    for label, s in (("1.45 s 50 kHz real sweep", real), ("10 s 200 kHz synthetic sweep", long)):
        rate = 1.0 / (s.t[1] - s.t[0])
        inline = len(s.v) <= INLINE_ANALYSIS_SAMPLES

        def paint(s=s, rate=rate, inline=inline) -> bytes:
            analysis = analyse_current_clamp(s.v, s.i, rate, s.start, s.end) if inline else None
            payload = current_clamp_view(s.v, s.i, rate, s.start, s.end, analysis=analysis, analyse=False)
            return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)

        def follow(s=s, rate=rate) -> bytes:
            return orjson.dumps(analysis_payload(analyse_current_clamp(s.v, s.i, rate, s.start, s.end)))

        analysed = analyse_current_clamp(s.v, s.i, rate, s.start, s.end)

        def zoom(s=s, rate=rate, analysed=analysed) -> bytes:
            window = {"start": s.start, "end": s.start + 0.1, "analysis": analysed}
            return orjson.dumps(current_clamp_view(s.v, s.i, rate, s.start, s.end, **window))

        body = paint()
        paint_ms = statistics.median(timings(paint, repeats)) * 1e3
        follow_ms = "—" if inline else f"{statistics.median(timings(follow, max(3, repeats // 3))) * 1e3:.1f} ms"
        zoom_ms = statistics.median(timings(zoom, repeats)) * 1e3
        spikes = f"{len(analysed.spikes)} inline" if inline else "to follow"
        print(
            f"{label:<30} {len(s.v):>9,} {paint_ms:>8.1f} ms {len(body):>8,} {len(gzip.compress(body)):>7,}"
            f" {spikes:>10} {follow_ms:>13} {zoom_ms:>8.1f} ms"
        )
    with tempfile.TemporaryDirectory() as work:
        path = write_synthetic_nwb2(Path(work) / "synthetic_long.nwb", (150.0,), rate=200_000.0, seconds=10.0)
        read = timings(lambda: clamp_arrays(read_sweep(path, 0, None)), max(3, repeats // 3))
    median_read = statistics.median(read) * 1e3
    print(f"first read of that 2,000,000-sample sweep from an NWB 2 file (then cached): {median_read:.1f} ms")


if __name__ == "__main__":
    main()
