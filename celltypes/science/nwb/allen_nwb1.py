"""The Allen Cell Types Database NWB 1 download (what AllenSDK's ``NwbDataSet`` reads).

``/epochs/Sweep_N/{stimulus,response}`` link ``/stimulus/presentation/Sweep_N`` and
``/acquisition/timeseries/Sweep_N``; ``aibs_*`` datasets hold the sweep metadata, ``/analysis/spike_times``
the spikes Allen detected.
"""

from __future__ import annotations

import re

import numpy as np

from .hdf5 import H5File
from .records import Sweep
from .series import build_sweep, read_series
from .stimulus import StimulusOntology

EPOCH_NAME = re.compile(r"^Sweep_(\d+)$")


def sweep_numbers(f: H5File) -> list[int]:
    numbers = sorted(int(m.group(1)) for k in f.keys("epochs") if (m := EPOCH_NAME.match(k)))
    if not numbers:
        f.fail("/epochs", "no Sweep_N epochs")
    return numbers


def read_sweeps(f: H5File, ontology: StimulusOntology | None, only: int | None = None) -> list[Sweep]:
    return [_read_sweep(f, number, ontology) for number in (sweep_numbers(f) if only is None else [only])]


def _read_sweep(f: H5File, number: int, ontology: StimulusOntology | None) -> Sweep:
    tag = f"Sweep_{number}"
    resp_name = f"acquisition/timeseries/{tag}"
    stim_name = f"stimulus/presentation/{tag}"
    if not f.has(resp_name):
        resp_name = f"epochs/{tag}/response/timeseries"
    if not f.has(stim_name):
        stim_name = f"epochs/{tag}/stimulus/timeseries"
    response = read_series(f, resp_name, stimulus=False, nwb1=True)
    stimulus = read_series(f, stim_name, stimulus=True, nwb1=True)

    def stored(key: str) -> str | None:
        for group in (resp_name, stim_name):
            if f.has(f"{group}/{key}"):
                return f"{group}/{key}"
        return None

    def stored_text(key: str) -> str | None:
        path = stored(key)
        return f.text(path) if path else None

    def stored_number(key: str) -> float | None:
        path = stored(key)
        return f.number(path) if path else None

    raw = stored_text("stimulus_description") or ""
    aibs_description = stored_text("aibs_stimulus_description") or ""
    # "C1LSCOARSE150216[3]" (Allen) names the set sweep too; a MIES-style raw code does not.
    described = aibs_description if "[" in aibs_description else (raw or aibs_description)
    spikes = None
    for key in ("spike_times", "aibs_spike_times"):
        value = f.value(f"analysis/{key}/{tag}")
        if value is not None:
            spikes = np.asarray(value, dtype=np.float64).reshape(-1)
            break
    return build_sweep(
        f,
        number,
        response,
        stimulus,
        described,
        ontology,
        raw_description=raw or None,
        stored_name=stored_text("aibs_stimulus_name"),
        stored_amplitude=stored_number("aibs_stimulus_amplitude_pa"),
        stored_interval=stored_number("aibs_stimulus_interval"),
        spike_times=spikes,
    )
