"""The demo NWB files are recordings of cells outside the 2,333-cell table: each becomes a specimen of its own,
with the metadata the file holds (its name, sweeps with stimulus names, amplitudes and sampling rates)."""

from collections.abc import Callable, Iterator
from pathlib import Path

from celltypes.atlas import choices
from celltypes.atlas.models import EphysResult, EphysSweep, Specimen
from celltypes.science.nwb import load_stimulus_ontology, summarise_nwb

ONTOLOGY = "ipfx/ipfx/defaults/stimulus_ontology.json"


def nwb_specimen_rows(path: Path, demo_dir: Path, local_id: Callable[[str, object], int]) -> Iterator[object]:
    """Model rows for one NWB file, plus one (file record args, kwargs) tuple for its well-known file."""
    ontology = load_stimulus_ontology(demo_dir / ONTOLOGY)
    summary = summarise_nwb(path, ontology)
    relative = str(path.relative_to(demo_dir))
    specimen_id = local_id("nwb_specimen", relative)
    result_id = local_id("ephys_result", specimen_id)
    rates = [s.sampling_rate for s in summary.sweeps if s.sampling_rate]
    yield EphysResult(id=result_id, failed=False, sampling_rate=rates[0] if rates else None)
    yield Specimen(id=specimen_id, name=summary.name, is_cell_specimen=True, ephys_result_id=result_id)
    for sweep in summary.sweeps:
        yield EphysSweep(
            id=local_id("sweep", f"{relative}:{sweep.sweep_number}"),
            specimen_id=specimen_id,
            sweep_number=sweep.sweep_number,
            stimulus_name=sweep.stimulus_name,
            stimulus_description=sweep.stimulus_description,
            stimulus_units=sweep.stimulus_units,
            stimulus_absolute_amplitude=sweep.stimulus_absolute_amplitude,
            stimulus_start_time=sweep.stimulus_start_time,
            stimulus_duration=sweep.stimulus_duration,
            stimulus_interval=sweep.stimulus_interval,
            num_spikes=sweep.num_spikes,
            sampling_rate=sweep.sampling_rate,
        )
    file_id = local_id("nwb", relative)
    yield (
        (file_id, choices.NWB_DOWNLOAD, "EphysResult", result_id, path.name),
        {"ephys_result_id": result_id, "source": path},
    )
