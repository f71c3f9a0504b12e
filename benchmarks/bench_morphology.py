"""Time load + all morphology features, ours vs NeuroM, plus preview renders and payload sizes.

Run from the repository root with the project venv:

    .venv/bin/python benchmarks/bench_morphology.py [--repeats 15]

NeuroM runs in its own venv (benchmarks/make_bench_venv.sh builds .benchvenv): this script re-runs
itself there with ``--neurom-worker`` and reads the timings back as JSON. NeuroM loads with
``process_subtrees=True`` and computes its equivalents of Allen's columns on the dendrites.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "celltypes" / "atlas" / "demo_data"
BENCH_PYTHON = REPO / ".benchvenv" / "bin" / "python"
LARGEST = "bmtk/examples/bio_nsg/bio_450cells/components/morphologies/485184849_reconstruction.swc"

NEUROM_NEURITE_FEATURES = [
    "number_of_sections",
    "number_of_bifurcations",
    "number_of_leaves",
    "total_length",
    "max_radial_distance",
    "section_path_distances",
    "section_branch_orders",
    "section_tortuosity",
    "local_bifurcation_angles",
    "remote_bifurcation_angles",
    "segment_radii",
    "total_area",
    "total_volume",
]
NEUROM_MORPHOLOGY_FEATURES = [
    "number_of_neurites",
    "soma_surface_area",
    "total_width",
    "total_height",
    "total_depth",
]


def demo_swcs() -> list[Path]:
    return sorted(p for p in DEMO.rglob("*.swc") if not p.name.endswith("_marker_m.swc"))


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm caches and imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def neurom_worker(paths: list[str], repeats: int) -> None:
    import morphio
    import neurom
    from neurom import NeuriteType, features

    dendrites = [NeuriteType.basal_dendrite, NeuriteType.apical_dendrite]

    def load(path: str):
        try:
            return neurom.load_morphology(path, process_subtrees=True)
        except morphio.RawDataError:  # an axon leaving a dendrite without a fork (3 demo files)
            raw = morphio.Morphology(path, morphio.Option.allow_unifurcated_section_change)
            return neurom.load_morphology(raw, process_subtrees=True)

    def load_and_measure(path: str) -> None:
        morph = load(path)
        for name in NEUROM_NEURITE_FEATURES:
            features.get(name, morph, neurite_type=dendrites)
        for name in NEUROM_MORPHOLOGY_FEATURES:
            features.get(name, morph, **({"neurite_type": dendrites} if name.startswith("total_") else {}))

    result = {p: median_seconds(lambda p=p: load_and_measure(p), repeats) for p in paths}
    print(json.dumps({"version": neurom.__version__, "times": result}))


def _science():
    """Import celltypes.science without running celltypes/__init__.py (which starts Celery/Django)."""
    package = types.ModuleType("celltypes")
    package.__path__ = [str(REPO / "celltypes")]
    sys.modules.setdefault("celltypes", package)
    from celltypes.science import morphology, morphology_views, swc

    return swc, morphology, morphology_views


def neurom_times(paths: list[Path], repeats: int) -> tuple[str, dict[str, float]] | None:
    if not BENCH_PYTHON.exists():
        print(f"NeuroM venv missing ({BENCH_PYTHON}); run benchmarks/make_bench_venv.sh", file=sys.stderr)
        return None
    command = [str(BENCH_PYTHON), __file__, "--neurom-worker", "--repeats", str(repeats), *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return data["version"], data["times"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--neurom-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    if args.neurom_worker:
        neurom_worker(args.paths, args.repeats)
        return

    swc, morphology, views = _science()
    paths = demo_swcs()
    theirs = neurom_times(paths, args.repeats)
    version, neurom = theirs if theirs else ("-", {})
    print(f"load + all features, median of {args.repeats} (ms); NeuroM {version}")
    print(f"{'file':<48} {'nodes':>6} {'ours':>7} {'NeuroM':>7} {'ratio':>6}")
    ratios = []
    for path in paths:
        nodes = len(swc.read_swc(path))
        ours = median_seconds(lambda p=path: morphology.compute_features(swc.read_swc(p)), args.repeats)
        other = neurom.get(str(path))
        ratio = other / ours if other else float("nan")
        ratios.append(ratio)
        shown = f"{other * 1e3:7.2f}" if other else "      -"
        print(f"{path.name[-48:]:<48} {nodes:>6} {ours * 1e3:7.2f} {shown} {ratio:6.1f}")
    if neurom:
        print(f"{'median ratio (NeuroM / ours)':<64} {statistics.median(ratios):6.1f}  min {min(ratios):.1f}")

    largest = swc.read_swc(DEMO / LARGEST)
    synthetic = swc.synthetic_morphology(30_000, seed=1)
    print("\npreviews and payload (median ms; JSON bytes with compact separators)")
    print(f"{'morphology':<26} {'nodes':>6} {'svg xy':>7} {'png xy':>7} {'png yz':>7} {'payload':>8} {'json B':>9}")
    for label, m in (("485184849 (largest demo)", largest), ("synthetic", synthetic)):
        svg = median_seconds(lambda m=m: views.render_projection_svg(m, "xy"), args.repeats)
        png = median_seconds(lambda m=m: views.render_projection_png(m, "xy"), args.repeats)
        png_yz = median_seconds(lambda m=m: views.render_projection_png(m, "yz"), args.repeats)
        build = median_seconds(lambda m=m: views.morphology_plot_payload(m), args.repeats)
        size = len(json.dumps(views.morphology_plot_payload(m), separators=(",", ":")).encode())
        print(
            f"{label:<26} {len(m):>6} {svg * 1e3:7.2f} {png * 1e3:7.2f} {png_yz * 1e3:7.2f} "
            f"{build * 1e3:8.2f} {size:>9,}"
        )


if __name__ == "__main__":
    main()
