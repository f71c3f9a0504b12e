"""Stimulus names and waveforms: the ipfx stimulus ontology, stimulus codes, and the stimulus epoch."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import InvalidFileError
from .hdf5 import PathLike
from .vocabulary import DISPLAY_SCALE

UNKNOWN_STIMULUS = "Unknown"

# Without a lab notebook, a first pulse that ends this early (s) is taken for MIES's inserted test pulse.
TEST_PULSE_MAX_END = 0.25


class StimulusOntology:
    """Stimulus codes (``C1LSCOARSE150216``) to stimulus names (``Long Square``), as in ipfx.

    The JSON is a list of records, each a list of tag sets ``[tag_type, value, ...]``; every ``code`` value
    of a record maps to the record's ``name``. A code missing from the ontology is ``"Unknown"`` (ipfx).
    """

    def __init__(self, records: list[list[list[str]]], source: str | None = None) -> None:
        self.source = source
        self._names: dict[str, str] = {}
        for record in records:
            names = [tags[1] for tags in record if tags and tags[0] == "name" and len(tags) > 1]
            if not names:
                continue
            for tags in record:
                if tags and tags[0] == "code":
                    for code in tags[1:]:
                        self._names.setdefault(code, names[0])

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, code: object) -> bool:
        return code in self._names

    def name_for(self, code: str) -> str:
        return self._names.get(code, UNKNOWN_STIMULUS)


def load_stimulus_ontology(path: PathLike) -> StimulusOntology:
    """Read an ipfx ``stimulus_ontology.json`` (the caller says where it is)."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)
    except json.JSONDecodeError as exc:
        raise InvalidFileError(path, f"not valid JSON ({exc.msg})", where=f"line {exc.lineno}") from exc
    if not isinstance(records, list):
        raise InvalidFileError(path, "expected a JSON list of stimulus records")
    for index, record in enumerate(records):
        if not isinstance(record, list) or not all(
            isinstance(tags, list) and tags and all(isinstance(t, str) for t in tags) for tags in record
        ):
            raise InvalidFileError(path, "a record must be a list of [tag_type, value, ...]", f"record {index}")
    return StimulusOntology(records, source=path)


def resolve_ontology(ontology: StimulusOntology | PathLike | None) -> StimulusOntology | None:
    """An ontology given as itself or as the path of its JSON; ``None`` names no stimulus."""
    if ontology is None or isinstance(ontology, StimulusOntology):
        return ontology
    return load_stimulus_ontology(ontology)


def stimulus_code(description: str) -> str:
    """``EXTPSMOKET180424_DA_0`` or ``C1LSCOARSE150216[3]`` -> the ontology code (ipfx rules)."""
    code = re.sub(r"_DA_\d+$", "", description.strip())
    return code.split("[")[0]


@dataclass(frozen=True)
class StimulusEpoch:
    """The stimulus after the test pulse, in Allen EphysSweep terms (amplitude in pA or mV)."""

    amplitude: float
    start_time: float | None
    duration: float | None
    interval: float | None
    start_index: int | None
    end_index: int | None
    test_pulse: bool


def analyse_stimulus(
    stimulus: NDArray, sampling_rate: float, stimulus_units: str, test_pulse: bool | None = None
) -> StimulusEpoch:
    """Locate the stimulus epoch (ipfx ``get_stim_characteristics``, Allen duration convention).

    ``test_pulse=None`` guesses: a first pulse ending within 0.25 s is MIES's inserted test pulse.
    The amplitude is the signed extreme in the epoch; the duration is ``(end - start) / rate`` as in the
    released EphysSweep table (1 s square -> 0.999995 s at 200 kHz); the interval is the onset spacing of
    an evenly spaced pulse train, else ``None``. No stimulus after the test pulse -> amplitude 0.
    """
    values = np.asarray(stimulus)
    changes = np.flatnonzero(values[1:] != values[:-1])  # the samples where it steps (a bool pass: fast)
    if test_pulse is None:
        test_pulse = len(changes) >= 2 and changes[1] < TEST_PULSE_MAX_END * sampling_rate
    epoch_changes = changes[2:] if test_pulse else changes
    if len(epoch_changes) == 0:
        return StimulusEpoch(0.0, None, None, None, None, None, bool(test_pulse))
    start = int(epoch_changes[0]) + 1
    baseline = values[start - 1]
    end = int(epoch_changes[-1])
    if values[-1] != baseline:  # the last step never returns to baseline: it runs to the end of the sweep
        end = len(values) - 1
    if end < start:
        end = start
    epoch = values[start : end + 1]
    high, low = float(epoch.max()), float(epoch.min())
    peak = high if abs(high) > abs(low) else low
    amplitude = _tidy(peak * DISPLAY_SCALE.get(stimulus_units, 1.0))
    onsets = [int(i) + 1 for i in epoch_changes if values[i] == baseline and values[i + 1] != baseline]
    interval = None
    if len(onsets) >= 2:
        gaps = np.diff(onsets)
        if int(gaps.max()) - int(gaps.min()) <= 1:
            interval = float(np.median(gaps)) / sampling_rate
    return StimulusEpoch(
        amplitude=amplitude,
        start_time=start / sampling_rate,
        duration=(end - start) / sampling_rate,
        interval=interval,
        start_index=start,
        end_index=end,
        test_pulse=bool(test_pulse),
    )


def _tidy(value: float) -> float:
    """Drop float noise of unit conversions (10 mV = 10 * 0.001 V reads back as 10.000000000000002)."""
    return float(f"{value:.9g}") if math.isfinite(value) else value
