"""Reads of a cell's neuronal models: which it has, their held parameter files, and the cell's stimulus protocol.

A model's kind (GLIF, perisomatic, all-active) follows its template id (``choices``); the words are the search
facet's (``models=glif``), so the page, the search and Allen's cell-table counts (``m__glif``...) say the same.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import Q, QuerySet
from numpy.typing import NDArray

from celltypes.atlas import choices, filestore
from celltypes.atlas.bundled import STIMULUS_ONTOLOGY
from celltypes.atlas.facets import FACETS_BY_KEY
from celltypes.atlas.models import (
    ApiCellTypesSpecimenDetail,
    EphysSweep,
    NeuronalModel,
    NeuronalModelRun,
    NeuronReconstruction,
    WellKnownFile,
)
from celltypes.atlas.selectors.morphology import reconstruction_swc_file
from celltypes.atlas.vocabulary import VOLTAGE_CLAMP_UNITS
from celltypes.science.ephys.spikes import detect_spikes, threshold_t
from celltypes.science.errors import ScienceError
from celltypes.science.glif import GlifConfig, load_config

GLIF = "glif"
PERISOMATIC = "perisomatic"
ALL_ACTIVE = "all-active"
# kind -> (template ids, the cell-table column that counts Allen's models of that kind)
MODEL_KINDS: dict[str, tuple[tuple[int, ...], str]] = {
    GLIF: (choices.GLIF_TEMPLATE_IDS, "m_glif"),
    PERISOMATIC: ((choices.PERISOMATIC_TEMPLATE_ID,), "m_biophys_perisomatic"),
    ALL_ACTIVE: ((choices.ALL_ACTIVE_TEMPLATE_ID,), "m_biophys_all_active"),
}
# Allen's stimulus names whose sweeps a model can be run on, rebuilt from the sweep table's row.
SQUARE_STIMULI = ("Long Square", "Short Square")
RAMP_STIMULI = ("Ramp",)
FI_STIMULUS = "Long Square"


def kind_label(kind: str) -> str:
    choice = FACETS_BY_KEY["models"].choice(kind)
    return choice.label if choice else kind


def model_kind(template_id: int) -> str | None:
    for kind, (template_ids, _) in MODEL_KINDS.items():
        if template_id in template_ids:
            return kind
    return None


@dataclass(frozen=True)
class HeldModel:
    """A neuronal model of this copy, with its parameter file (neuron_config or fit) when the store holds it."""

    model: NeuronalModel
    kind: str | None
    parameters_file: WellKnownFile | None

    @property
    def id(self) -> int:
        return self.model.id

    @property
    def template(self) -> str:
        return self.model.neuronal_model_template.name

    @property
    def glif_level(self) -> int | None:
        """1-5 from the template's name ("3 LIF + Afterspike Currents"), for GLIF models."""
        head = self.template.split(" ", 1)[0]
        return int(head) if self.kind == GLIF and head.isdigit() else None

    @property
    def parameters_path(self) -> Path | None:
        return filestore.well_known_file_path(self.parameters_file.id) if self.parameters_file else None


@dataclass(frozen=True)
class MissingModels:
    """Models Allen's cell table counts for the cell that this copy does not hold."""

    kind: str
    label: str
    listed: int
    held: int

    @property
    def missing(self) -> int:
        return self.listed - self.held


@dataclass(frozen=True)
class CellModels:
    models: list[HeldModel]
    glif: int | None  # Allen's per-cell counts from the cell table
    perisomatic: int | None
    all_active: int | None
    missing: list[MissingModels] = field(default_factory=list)

    def get(self, model_id: int) -> HeldModel | None:
        return next((held for held in self.models if held.id == model_id), None)


def _parameters_file(model: NeuronalModel) -> WellKnownFile | None:
    files = [
        wkf
        for wkf in model.well_known_files.all()
        if wkf.well_known_file_type_id == choices.MODEL_PARAMETERS[0]
        and filestore.well_known_file_path(wkf.id).is_file()
    ]
    return max(files, key=lambda wkf: wkf.id) if files else None


def cell_models_get(*, specimen_id: int, row: ApiCellTypesSpecimenDetail | None) -> CellModels:
    """The neuronal models this copy holds for the cell, with Allen's per-cell model counts from the table."""
    models = list(
        NeuronalModel.objects.filter(specimen_id=specimen_id)
        .select_related("neuronal_model_template")
        .prefetch_related("well_known_files")
        .order_by("neuronal_model_template__name", "id")
    )
    held = [HeldModel(m, model_kind(m.neuronal_model_template_id), _parameters_file(m)) for m in models]
    missing = []
    for kind, (_, column) in MODEL_KINDS.items():
        listed = (getattr(row, column) or 0) if row else 0
        count = sum(1 for h in held if h.kind == kind)
        if listed > count:
            missing.append(MissingModels(kind, kind_label(kind), listed, count))
    return CellModels(
        models=held,
        glif=row.m_glif if row else None,
        perisomatic=row.m_biophys_perisomatic if row else None,
        all_active=row.m_biophys_all_active if row else None,
        missing=missing,
    )


def held_model_get(*, model_id: int) -> HeldModel | None:
    model = (
        NeuronalModel.objects.filter(pk=model_id)
        .select_related("neuronal_model_template")
        .prefetch_related("well_known_files")
        .first()
    )
    return HeldModel(model, model_kind(model.neuronal_model_template_id), _parameters_file(model)) if model else None


def glif_config_read(held: HeldModel) -> GlifConfig:
    """The model's neuron_config from the file store (InvalidFileError / ScienceError when unreadable)."""
    if held.kind != GLIF or held.parameters_path is None:
        raise LookupError(f"model {held.id} has no held GLIF neuron_config")
    return load_config(held.parameters_path)


def biophysical_fit_read(held: HeldModel) -> dict[str, Any]:
    """The model's fit JSON (passive, conditions, genome) from the file store."""
    if held.kind not in (PERISOMATIC, ALL_ACTIVE) or held.parameters_path is None:
        raise LookupError(f"model {held.id} has no held biophysical fit")
    document = json.loads(held.parameters_path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"the fit of model {held.id} is not a JSON object")
    return document


def model_swc_path(held: HeldModel) -> Path | None:
    """The held SWC of the reconstruction the model was fitted on (None when the store lacks it)."""
    reconstruction = NeuronReconstruction.objects.filter(pk=held.model.neuron_reconstruction_id).first()
    swc = reconstruction_swc_file(reconstruction) if reconstruction else None
    return filestore.well_known_file_path(swc.id) if swc else None


@dataclass(frozen=True)
class ProtocolSweep:
    """A sweep of the cell whose stimulus the sweep table describes well enough to rebuild it."""

    sweep_number: int
    stimulus_name: str
    amplitude_pa: float
    start_s: float
    duration_s: float
    num_spikes: int | None

    @property
    def is_ramp(self) -> bool:
        return self.stimulus_name in RAMP_STIMULI


def cell_protocol_get(*, specimen_id: int) -> list[ProtocolSweep]:
    """The cell's square-pulse and ramp sweeps, in sweep order (rows without amplitude, start or duration left out)."""
    rows = EphysSweep.objects.filter(
        specimen_id=specimen_id,
        stimulus_name__in=SQUARE_STIMULI + RAMP_STIMULI,
        stimulus_absolute_amplitude__isnull=False,
        stimulus_start_time__isnull=False,
        stimulus_duration__gt=0,
    ).order_by("sweep_number")
    return [
        ProtocolSweep(
            sweep_number=row.sweep_number,
            stimulus_name=row.stimulus_name,
            amplitude_pa=row.stimulus_absolute_amplitude,
            start_s=row.stimulus_start_time,
            duration_s=row.stimulus_duration,
            num_spikes=row.num_spikes,
        )
        for row in rows
    ]


def recorded_fi_curve(protocol: list[ProtocolSweep]) -> list[tuple[float, float]]:
    """(amplitude pA, firing rate Hz) of the cell's Long Square sweeps, from the sweep table's spike counts
    (no count recorded: 0 spikes), averaged over repeats of one amplitude, by amplitude."""
    rates: dict[float, list[float]] = {}
    for sweep in protocol:
        if sweep.stimulus_name == FI_STIMULUS:
            rates.setdefault(round(sweep.amplitude_pa, 1), []).append((sweep.num_spikes or 0) / sweep.duration_s)
    return [(amplitude, sum(values) / len(values)) for amplitude, values in sorted(rates.items())]


# ---- the cell's recordings, where this copy holds its NWB file

NOISE_STIMULI = ("Noise 2", "Noise 1")  # Allen's explained variance: Noise 2 (held out of the fit), else Noise 1
NOT_RECORDED_STIMULI = ("Test",)
RECORDED_SWEEP_CACHE_SIZE = 4  # sweeps read from held NWB files kept per process (a 20 s noise sweep: ~64 MB)


@dataclass(frozen=True)
class HeldRecording:
    """The cell's NWB file held here (None when it is not) and its current-clamp sweeps, from the sweep table."""

    file_id: int | None
    file_name: str | None
    nwb_file: WellKnownFile | None  # the cell's NWB record, held or not (what a fetch from the upstream would fetch)
    sweeps: dict[int, str]  # sweep number -> stimulus name

    @property
    def held(self) -> bool:
        return self.file_id is not None

    def numbers(self, stimulus_name: str) -> list[int]:
        return sorted(number for number, name in self.sweeps.items() if name == stimulus_name)


def held_recording_get(*, specimen_id: int) -> HeldRecording:
    """The cell's NWB record and, where the file store holds it, the sweeps it holds (one query when not held)."""
    files = list(
        WellKnownFile.objects.filter(
            ephys_result__specimen__id=specimen_id, well_known_file_type_id=choices.NWB_DOWNLOAD[0]
        ).order_by("id")
    )
    held = next((f for f in files if filestore.has_well_known_file(f.id)), None)
    in_file: set[int] = set()
    if held is not None:
        from celltypes.science.nwb import list_sweeps

        try:
            in_file = set(list_sweeps(filestore.well_known_file_path(held.id)))
        except (ScienceError, OSError):
            held = None  # unreadable: as good as not held (the ephys tab says why)
    rows = (
        EphysSweep.objects.filter(specimen_id=specimen_id, sweep_number__in=in_file)
        .exclude(stimulus_units=VOLTAGE_CLAMP_UNITS)
        .exclude(stimulus_name__in=NOT_RECORDED_STIMULI)
        .values_list("sweep_number", "stimulus_name")
        if held is not None
        else []
    )
    return HeldRecording(
        file_id=held.id if held else None,
        file_name=held.file_name if held else None,
        nwb_file=held or (files[0] if files else None),
        sweeps={number: name or "" for number, name in rows},
    )


@dataclass(frozen=True, eq=False)
class RecordedSweep:
    """One current-clamp sweep of the held NWB file: its stimulus (A) and response (V), recorded samples only."""

    sweep_number: int
    stimulus_name: str
    sampling_rate: float  # Hz
    stimulus: NDArray[np.float64]
    response: NDArray[np.float64]
    spike_times: NDArray[np.float64]  # s from the first sample: the file's (Allen's detection), else ours
    spikes_detected_here: bool
    source: str

    @property
    def duration(self) -> float:
        return len(self.stimulus) / self.sampling_rate


def recorded_sweep_read(recording: HeldRecording, sweep_number: int) -> RecordedSweep:
    """Read one sweep of the held NWB file (ScienceError when unreadable, LookupError when not held); the last
    few reads are kept per process while the file is unchanged."""
    if recording.file_id is None or sweep_number not in recording.sweeps:
        raise LookupError(f"sweep {sweep_number} is not a held current-clamp sweep of this cell")
    path = filestore.well_known_file_path(recording.file_id)
    stat = path.stat()
    return _recorded_sweep(
        str(path),
        (stat.st_mtime_ns, stat.st_size),
        sweep_number,
        recording.sweeps[sweep_number],
        f"sweep {sweep_number} of {recording.file_name}",
    )


@functools.lru_cache(maxsize=RECORDED_SWEEP_CACHE_SIZE)
def _recorded_sweep(path: str, stamp: tuple[int, int], sweep_number: int, name: str, source: str) -> RecordedSweep:
    from celltypes.science.nwb import read_sweep

    sweep = read_sweep(path, sweep_number, STIMULUS_ONTOLOGY)
    n = sweep.recorded_samples
    response = np.asarray(sweep.response[:n], dtype=np.float64)
    if sweep.spike_times is not None:
        spikes = np.asarray(sweep.spike_times, dtype=np.float64)
    else:  # a raw recording: our detection (ipfx's), threshold times as Allen's files hold them
        spikes = threshold_t(detect_spikes(np.arange(n) / float(sweep.sampling_rate), response * 1e3))
    stimulus = np.asarray(sweep.stimulus[:n], dtype=np.float64)
    for array in (stimulus, response, spikes):
        array.setflags(write=False)  # shared by every caller of the cache
    return RecordedSweep(
        sweep_number=sweep_number,
        stimulus_name=name,
        sampling_rate=float(sweep.sampling_rate),
        stimulus=stimulus,
        response=response,
        spike_times=spikes,
        spikes_detected_here=sweep.spike_times is None,
        source=source,
    )


# ---- Allen's published fit metrics


@dataclass(frozen=True)
class PublishedMetrics:
    """Allen's own measures of a fit, from its NeuronalModelRun record (loaded from model_metadata.json)."""

    explained_variance_ratio: float | None
    rheobase_feature_average: float | None
    run_id: int  # the NeuronalModelRun that holds them


def published_model_metrics(*, model_id: int) -> PublishedMetrics | None:
    """Allen's explained variance ratio and rheobase feature average of the model, where its runs hold them."""
    run = (
        NeuronalModelRun.objects.filter(neuronal_model_id=model_id)
        .filter(Q(explained_variance_ratio__isnull=False) | Q(rheobase_feature_average__isnull=False))
        .order_by("id")
        .first()
    )
    if run is None:
        return None
    return PublishedMetrics(run.explained_variance_ratio, run.rheobase_feature_average, run.id)


def neuronal_models() -> QuerySet[NeuronalModel]:
    """Every neuronal model held here, with its template (one query)."""
    return NeuronalModel.objects.select_related("neuronal_model_template").order_by("id")
