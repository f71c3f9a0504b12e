"""The demo set's GLIF neuron_configs and the stimuli the GLIF reference test and benchmark drive them with.

The threshold current of a config is its rheobase as our simulator finds it by bisection (a 1 s step from
rest at the config's dt, see ``celltypes.science.glif.rheobase``). Each config gets a long square at 1.5x that
current and seeded pink noise of the same mean (CV 0.4; Allen's noise sweeps go up to 1.5x rheobase), both at
the config's dt and at 200 kHz, short enough that the SDK runs all of them in about half a minute.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from celltypes.science import stimuli
from celltypes.science.glif import GlifConfig

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "celltypes" / "atlas" / "demo_data"
OSB_GLIF = DEMO / "OpenSourceBrain_AllenInstituteNeuroML" / "CellTypesDatabase" / "models" / "GLIF"
# One OSB bundle per GLIF level (all wrapped {"<model id>": {...}} files).
OSB_BY_LEVEL = {1: "566302725", 2: "566288171", 3: "566291897", 4: "566283879", 5: "566283540"}
# The 2015 configs whose threshold_reset_method "three_components" lacks b_spike (SOURCES.md).
LACKING_B_SPIKE = ("OSB 472308324", "OSB 472455459", "OSB 473875489", "OSB 480633674")
HIGH_RATE_DT = 5e-6  # 200 kHz
THRESHOLD_FACTOR = 1.5
NOISE_CV = 0.4
NOISE_SEED = 2018
# (total, start) in seconds: shorter at 200 kHz, where each second is 200,000 SDK steps.
DURATIONS = {"config dt": (0.3, 0.05), "200 kHz": (0.05, 0.005)}


@dataclass(frozen=True)
class StimulusCase:
    label: str  # "square at config dt", "noise at 200 kHz", ...
    dt: float
    stimulus: np.ndarray


def demo_glif_config_paths() -> list[Path]:
    """Every GLIF neuron_config in the demo set: the JSON files that name a threshold reset method."""
    return sorted(path for path in DEMO.rglob("*.json") if "threshold_reset_method" in path.read_text())


def case_name(path: Path) -> str:
    """A short readable id: "OSB 566283540", "Teeter 485574832_Rbp4-Cre_KL100_GLIF3", "bmtk 637930677_lif_r"."""
    relative = path.relative_to(DEMO)
    if relative.parts[0].startswith("OpenSourceBrain"):
        return f"OSB {path.parent.name}"
    if relative.parts[0].startswith("GLIF_Teeter"):
        return "Teeter " + path.name.removesuffix("_neuron_config.json")
    return "bmtk " + path.stem.removesuffix("_config")


def source_name(path: Path) -> str:
    return case_name(path).split()[0]


def raw_body(path: Path) -> dict[str, Any]:
    """The file's config dict, unwrapped from ``{"<model id>": {...}}`` by hand (what the SDK is given)."""
    data = json.loads(path.read_text())
    if "El" not in data and len(data) == 1:
        (data,) = data.values()
    return data


def stimulus_cases(config: GlifConfig, threshold_current: float) -> list[StimulusCase]:
    cases = []
    for rate, dt in (("config dt", config.dt), ("200 kHz", HIGH_RATE_DT)):
        total, start = DURATIONS[rate]
        epoch = {"start": start, "duration": total - start, "total": total, "dt": dt}
        amplitude = THRESHOLD_FACTOR * threshold_current
        square = stimuli.long_square(amplitude=amplitude, **epoch)
        noise = stimuli.pink_noise(mean=amplitude, cv=NOISE_CV, seed=NOISE_SEED, **epoch)
        cases += [StimulusCase(f"square at {rate}", dt, square), StimulusCase(f"noise at {rate}", dt, noise)]
    return cases


def osb_body(level: int) -> dict[str, Any]:
    return raw_body(OSB_GLIF / OSB_BY_LEVEL[level] / "neuron_config.json")


def synthetic_bodies() -> dict[str, dict[str, Any]]:
    """Real OSB configs with one change each (synthetic), for the loop's rarer paths."""
    bad_reset = copy.deepcopy(osb_body(2))
    bad_reset["voltage_reset_method"]["params"] = {"a": 0.0, "b": 1.0}  # resets above any threshold
    no_cut = dict(osb_body(4), spike_cut_length=0)
    nine = copy.deepcopy(osb_body(3))
    nine.update(
        asc_tau_array=[0.003 * (i + 1) for i in range(9)],
        asc_amp_array=[(-1) ** i * 1e-11 * (i + 1) for i in range(9)],
        init_AScurrents=[0.0] * 9,
        coeffs=dict(nine["coeffs"], asc_amp_array=[1.0] * 9),
    )
    nine["AScurrent_reset_method"]["params"]["r"] = [1.0] * 9  # numpy sums 8 or more values 8 ways
    none_reset = dict(copy.deepcopy(osb_body(1)), init_AScurrents=[1e-12, 0.0])
    none_reset["AScurrent_dynamics_method"] = {"name": "exp", "params": {}}  # currents that reset "none" cannot hold
    return {"bad reset": bad_reset, "no cut": no_cut, "nine currents": nine, "none reset": none_reset}
