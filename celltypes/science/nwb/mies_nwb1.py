"""Raw MIES NWB 1.0.x: ``/acquisition/timeseries/data_NNNNN_ADk`` responses, ``/stimulus/presentation/data_NNNNN_DAk``
stimuli (NNNNN the sweep number, k the channel), plus the MIES lab notebook."""

from __future__ import annotations

import re

from .hdf5 import H5File
from .mies import SeriesByNumber, paired_sweeps
from .records import Sweep
from .stimulus import StimulusOntology

RESPONSE_NAME = re.compile(r"^data_(\d+)_AD(\d+)$")
STIMULUS_NAME = re.compile(r"^data_(\d+)_DA(\d+)$")


def _series(f: H5File, base: str, pattern: re.Pattern[str]) -> SeriesByNumber:
    found: SeriesByNumber = {}
    for key in f.keys(base):
        if m := pattern.match(key):
            found.setdefault(int(m.group(1)), []).append((f"{base}/{key}", int(m.group(2))))
    return found


def _responses(f: H5File) -> SeriesByNumber:
    responses = _series(f, "acquisition/timeseries", RESPONSE_NAME)
    if not responses:
        f.fail("/acquisition/timeseries", "no MIES sweeps (data_NNNNN_ADk)")
    return responses


def sweep_numbers(f: H5File) -> list[int]:
    return sorted(_responses(f))


def read_sweeps(f: H5File, ontology: StimulusOntology | None, only: int | None = None) -> list[Sweep]:
    responses = _responses(f)
    stimuli = _series(f, "stimulus/presentation", STIMULUS_NAME)
    return paired_sweeps(f, responses, stimuli, ontology, nwb1=True, only=only)
