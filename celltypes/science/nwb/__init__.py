"""Intracellular ephys NWB files: read three layouts, write the Allen released NWB 1 layout.

Layouts read (all HDF5, plain h5py), see :mod:`.layouts`: raw MIES NWB 1 (``mies-nwb1``), the Allen Cell Types
Database download (``allen-nwb1``) and NWB 2 icephys (``nwb2``).

Traces are returned in SI units (volts, amps) as read-only float64 arrays. :func:`read_nwb` reads every
sweep's metadata and stimulus and each response when first asked for; :func:`read_sweep` reads one sweep's
datasets only; :func:`list_sweeps` reads no samples. Stimulus amplitudes follow the Allen ``EphysSweep``
convention: pA when ``stimulus_units == "Amps"``, mV when ``"Volts"``. Broken input raises
:class:`~celltypes.science.errors.InvalidFileError` naming the HDF5 object at fault: a missing NWB 1
``conversion`` attribute, a stimulus that does not cover its response sample for sample, a NaN or infinite
sample (a response may end in NaN: MIES's mark of a recording stopped early, see ``Sweep.recorded_samples``).

The stimulus ontology (stimulus code -> name) is always passed in: this package reads no file of its own.
"""

from .layouts import LAYOUT_ALLEN_NWB1, LAYOUT_MIES_NWB1, LAYOUT_NWB2
from .read import list_sweeps, read_nwb, read_sweep, summarise_nwb
from .records import NwbRecording, NwbSummary, Sweep, SweepInfo
from .stimulus import (
    UNKNOWN_STIMULUS,
    StimulusEpoch,
    StimulusOntology,
    analyse_stimulus,
    load_stimulus_ontology,
    stimulus_code,
)
from .vocabulary import AMPS, CURRENT_CLAMP, IZERO_CLAMP, VOLTAGE_CLAMP, VOLTS
from .write import ALLEN_EXPERIMENT_START_TIME, ALLEN_TEST_PULSE_LENGTH, write_allen_nwb1

__all__ = [
    "ALLEN_EXPERIMENT_START_TIME",
    "ALLEN_TEST_PULSE_LENGTH",
    "AMPS",
    "CURRENT_CLAMP",
    "IZERO_CLAMP",
    "LAYOUT_ALLEN_NWB1",
    "LAYOUT_MIES_NWB1",
    "LAYOUT_NWB2",
    "UNKNOWN_STIMULUS",
    "VOLTAGE_CLAMP",
    "VOLTS",
    "NwbRecording",
    "NwbSummary",
    "StimulusEpoch",
    "StimulusOntology",
    "Sweep",
    "SweepInfo",
    "analyse_stimulus",
    "list_sweeps",
    "load_stimulus_ontology",
    "read_nwb",
    "read_sweep",
    "stimulus_code",
    "summarise_nwb",
    "write_allen_nwb1",
]
