"""NWB 2.x icephys: ``*ClampSeries`` groups in ``/acquisition`` and ``*StimulusSeries`` in
``/stimulus/presentation``, numbered by their ``sweep_number`` attribute (MIES writes these files)."""

from __future__ import annotations

import re

import h5py

from .hdf5 import H5File, text
from .mies import SeriesByNumber, paired_sweeps
from .mies_nwb1 import RESPONSE_NAME, STIMULUS_NAME
from .records import Sweep
from .stimulus import StimulusOntology
from .vocabulary import SERIES_CLAMP


def _series(f: H5File, base: str, stimulus: bool) -> SeriesByNumber:
    found: SeriesByNumber = {}
    if not f.has(base):
        return found
    for key in f.keys(base):
        obj = f.node(f"{base}/{key}", required=False)
        if not isinstance(obj, h5py.Group):
            continue
        kind = text(f.attr(obj, "neurodata_type")) or ""
        if kind not in SERIES_CLAMP or kind.endswith("StimulusSeries") != stimulus:
            continue
        number = f.attr(obj, "sweep_number")
        if number is None:
            m = (STIMULUS_NAME if stimulus else RESPONSE_NAME).match(key)
            if m is None:
                f.fail(f"/{base}/{key}", "missing attribute 'sweep_number'")
            number = m.group(1)
        channel = re.search(r"(\d+)$", key)
        found.setdefault(int(number), []).append((f"{base}/{key}", int(channel.group(1)) if channel else 0))
    return found


def _responses(f: H5File) -> SeriesByNumber:
    responses = _series(f, "acquisition", stimulus=False)
    if not responses:
        f.group("acquisition")
        f.fail("/acquisition", "no patch-clamp series (VoltageClampSeries / CurrentClampSeries)")
    return responses


def sweep_numbers(f: H5File) -> list[int]:
    return sorted(_responses(f))


def read_sweeps(f: H5File, ontology: StimulusOntology | None, only: int | None = None) -> list[Sweep]:
    responses = _responses(f)
    stimuli = _series(f, "stimulus/presentation", stimulus=True)
    return paired_sweeps(f, responses, stimuli, ontology, nwb1=False, only=only)
