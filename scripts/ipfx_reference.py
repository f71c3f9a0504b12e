"""Allen's ipfx features of sweeps, for comparison with celltypes.science.ephys. Runs in the ipfx venv only.

Usage: <ipfx venv>/bin/python scripts/ipfx_reference.py SPEC.json ARRAYS.npz > result.json

ARRAYS.npz holds ``t_<key>`` (s), ``v_<key>`` (mV) and ``i_<key>`` (pA) for each sweep key. SPEC.json:
``{"sweeps": [{"key", "start", "end"}], "cells": [{"key", "long_squares": [keys], "ramps": [keys],
"subthresh_min_amp"}], "repeat": N}``; with N > 0 each sweep's extraction is also timed N times (median, ms).
Printed JSON: per sweep its spike table (ipfx's columns), its sweep features and the subthreshold functions;
per cell ipfx's cell record (``build_cell_feature_record``) plus f-I slope inputs.
"""

import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from ipfx import feature_record, stim_features, subthresh_features
from ipfx.feature_extractor import SpikeFeatureExtractor, SpikeTrainFeatureExtractor
from ipfx.stimulus_protocol_analysis import LongSquareAnalysis, RampAnalysis
from ipfx.sweep import Sweep, SweepSet

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)

SWEEP_EXTRAS = ["peak_deflect", "stim_amp", "v_baseline", "sag"]
SPIKE_COLUMNS = [
    "threshold_index", "peak_index", "upstroke_index", "trough_index", "downstroke_index",
    "fast_trough_index", "adp_index", "slow_trough_index", "clipped", "threshold_t", "threshold_v",
    "threshold_i", "peak_t", "peak_v", "trough_t", "trough_v", "fast_trough_t", "fast_trough_v", "adp_t",
    "adp_v", "slow_trough_t", "slow_trough_v", "upstroke", "downstroke", "upstroke_downstroke_ratio", "width",
    "isi_type",
]  # fmt: skip


def plain(value):
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int, np.bool_, bool)):
        return value.item() if hasattr(value, "item") else value
    if isinstance(value, (tuple, list, np.ndarray)):
        return [plain(v) for v in value]
    return value if isinstance(value, str) or value is None else str(value)


def extract(t, v, i, start, end):
    spx = SpikeFeatureExtractor(start=start, end=end)
    sptx = SpikeTrainFeatureExtractor(start, end, stim_amp_fn=stim_features._step_stim_amp)
    spikes = spx.process(t, v, i)
    sweep = sptx.process(t, v, i, spikes, extra_features=SWEEP_EXTRAS)
    return spikes, sweep


def sweep_report(t, v, i, start, end, repeat):
    spikes, sweep = extract(t, v, i, start, end)
    report = {
        "spikes": {c: plain(spikes[c].tolist()) if c in spikes else [] for c in SPIKE_COLUMNS},
        "sweep": {k: plain(val) for k, val in sweep.items()},
        "subthreshold": {
            "tau": plain(subthresh_features.time_constant(t, v, i, start, end)),
            "input_resistance": plain(subthresh_features.input_resistance([t], [i], [v], start, end)),
            "baseline_voltage": plain(subthresh_features.baseline_voltage(t, v, start)),
        },
    }
    if repeat:
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            extract(t, v, i, start, end)
            times.append(time.perf_counter() - began)
        report["time_ms"] = float(np.median(times) * 1e3)
    return report


def sweep_set(keys, arrays):
    sweeps = []
    for key in keys:
        t, v, i = arrays[f"t_{key}"], arrays[f"v_{key}"], arrays[f"i_{key}"]
        whole = (0, len(t) - 1)
        epochs = {"test": None, "sweep": whole, "recording": whole, "stim": whole, "experiment": whole}
        sweeps.append(Sweep(t, v, i, "CurrentClamp", 1.0 / (t[1] - t[0]), epochs=epochs))
    return SweepSet(sweeps)


def cell_report(cell, arrays):
    squares = sweep_set(cell["long_squares"], arrays)
    first = squares.sweeps[0]
    start, duration, _, _, _ = stim_features.get_stim_characteristics(first.i, first.t, test_pulse=False)
    spx = SpikeFeatureExtractor(start=start, end=start + duration)
    sptx = SpikeTrainFeatureExtractor(start, start + duration)
    analysis = LongSquareAnalysis(spx, sptx, subthresh_min_amp=cell.get("subthresh_min_amp", -100.0))
    features = analysis.as_dict(
        analysis.analyze(squares), [{"sweep_key": k, "sweep_number": n} for n, k in enumerate(cell["long_squares"])]
    )
    ramps = {}
    if cell.get("ramps"):
        ramp_set = sweep_set(cell["ramps"], arrays)
        first = ramp_set.sweeps[0]
        ramp_start, _, _, _, _ = stim_features.get_stim_characteristics(first.i, first.t, test_pulse=False)
        ramp_analysis = RampAnalysis(
            SpikeFeatureExtractor(start=ramp_start), SpikeTrainFeatureExtractor(ramp_start, None)
        )
        ramps = ramp_analysis.as_dict(ramp_analysis.analyze(ramp_set))
    record = feature_record.build_cell_feature_record({"long_squares": features, "ramps": ramps, "short_squares": {}})
    record["rheobase_sweep_key"] = features["rheobase_sweep"]["sweep_key"]
    record["hero_sweep_key"] = features["hero_sweep"]["sweep_key"]
    record["fi"] = [[s["stim_amp"], s["avg_rate"]] for s in features["spiking_sweeps"]]
    return {k: plain(v) for k, v in record.items()}


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    arrays = dict(np.load(sys.argv[2]))
    repeat = int(spec.get("repeat", 0))
    out = {"sweeps": {}, "cells": {}}
    for s in spec.get("sweeps", []):
        key = s["key"]
        t, v, i = arrays[f"t_{key}"], arrays[f"v_{key}"], arrays[f"i_{key}"]
        out["sweeps"][key] = sweep_report(t, v, i, s["start"], s["end"], repeat)
    for cell in spec.get("cells", []):
        out["cells"][cell["key"]] = cell_report(cell, arrays)
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
