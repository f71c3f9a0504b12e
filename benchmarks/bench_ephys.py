"""Time spike + sweep feature extraction, ours vs ipfx 2.1.2, plus downsampled-trace time and payload size.

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

from celltypes.science.ephys.downsample import downsample_indexes, trace_payload  # noqa: E402
from celltypes.science.ephys.spikes import SPIKE_FEATURES, detect_spikes  # noqa: E402
from celltypes.science.ephys.sweep_features import CurrentClampSweep  # noqa: E402
from celltypes.science.ephys.trace_view import analyse_current_clamp, current_clamp_view  # noqa: E402
from tests.compat.ipfx_client import run_ipfx  # noqa: E402
from tests.unit.science import ephys_synthetic as synthetic  # noqa: E402
from tests.unit.science.ephys_real import REAL_SWEEPS, real_clamp_sweep  # noqa: E402

IPFX_PYTHON = Path(os.environ.get("IPFX_VENV", REPO / ".ipfxvenv")) / "bin" / "python"
POINTS = 4000


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

    long = synthetic.synthetic_long_sweep()
    detection = timings(lambda: detect_spikes(long.t, long.v, long.i, long.start, long.end), 3)
    peaks = detect_spikes(long.t, long.v, long.i, long.start, long.end).peak_index
    draw = timings(lambda: trace_payload(long.t, long.v, downsample_indexes(long.v, POINTS, peaks)), args.repeats)
    print(f"\n{len(long.v):,}-sample synthetic sweep (10 s, 200 kHz, {len(peaks)} spikes), median ms:")
    print(f"  downsample to {POINTS} points keeping every peak + payload lists: {statistics.median(draw) * 1e3:.2f}")
    print(f"  spike detection (peaks to keep), median of 3:                   {statistics.median(detection) * 1e3:.1f}")

    print(f"\npayload at {POINTS} points (orjson bytes / gzip bytes)")
    real = cases[f"real {next(iter(REAL_SWEEPS))}"]
    for label, sweep in (("1.45 s 50 kHz real sweep", real), ("10 s 200 kHz synthetic sweep", long)):
        keep = peaks if sweep is long else sweep.spikes.peak_index
        indexes = downsample_indexes(sweep.v, POINTS, keep)
        body = orjson.dumps(trace_payload(sweep.t, sweep.v, indexes))
        raw = sweep.v.astype(np.float32).nbytes + sweep.t.astype(np.float32).nbytes
        sizes = f"{len(body):>8,} B {len(gzip.compress(body)):>8,} B"
        print(f"  {label:<30} {len(indexes):>5} points {sizes}  (raw float32 t+v {raw:,} B)")

    sweep_json(real, long, args.repeats)


def sweep_json(real: CurrentClampSweep, long, repeats: int) -> None:
    """The sweep browser's JSON (/cell/<id>/ephys/sweep/<n>.json, as trace_view builds it): the first paint
    (whole sweep, downsampled, with spikes, spike table and sweep features), with the trace's analysis found in
    the request or already cached (the endpoint caches it per process), and a 100 ms zoom at full resolution."""
    import json

    print("\nsweep browser JSON (trace_view + json.dumps, as the endpoint answers), median ms / bytes / gzip bytes")
    for label, s in (("1.45 s 50 kHz real sweep", real), ("10 s 200 kHz synthetic sweep", long)):
        rate = 1.0 / (s.t[1] - s.t[0])
        analysis = analyse_current_clamp(s.v, s.i, rate, s.start, s.end)
        cases = (
            ("first paint", {}, None),
            ("first paint, analysed", {}, analysis),
            ("100 ms zoom, analysed", {"start": s.start, "end": s.start + 0.1}, analysis),
        )
        for view, window, known in cases:

            def build(s=s, rate=rate, window=window, known=known) -> bytes:
                payload = current_clamp_view(s.v, s.i, rate, s.start, s.end, analysis=known, **window)
                return json.dumps(payload).encode()

            runs = timings(build, repeats)
            body = build()
            print(
                f"  {label:<30} {view:<22} {statistics.median(runs) * 1e3:8.1f} ms {len(body):>9,} B"
                f" {len(gzip.compress(body)):>8,} B"
            )


if __name__ == "__main__":
    main()
