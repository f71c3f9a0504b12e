"""What the cell page prints: selector results turned into labelled rows. Templates only loop over these.

Labels, units and colours come from :mod:`celltypes.atlas.vocabulary`; nothing here reads the database beyond
the objects the selectors already fetched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Model

from celltypes.atlas.models import ApiCellTypesSpecimenDetail, Specimen
from celltypes.atlas.selectors.cells import Cell
from celltypes.atlas.selectors.ephys import CellEphys, ComputedSweep, held_window_features, sweep_table_curves
from celltypes.atlas.selectors.morphology import NOT_COMPUTED, CellMorphology, PreviewState
from celltypes.atlas.vocabulary import (
    AGREEMENT_RTOL,
    COMPARTMENT_COLOURS,
    EPHYS_AGREEMENT_MV,
    EPHYS_AGREEMENT_RTOL,
    EPHYS_COMPARISONS,
    EPHYS_FEATURE_LABELS,
    EPHYS_SOURCE_SWEEPS,
    MORPHOLOGY_COLUMNS,
    MORPHOLOGY_FEATURE_LABELS,
    OTHER_STIMULI,
    PREVIEW_SIZE,
    STIMULUS_GROUPS,
    STIMULUS_UNITS,
    VOLTAGE_CLAMP_UNITS,
    ColourKey,
    FeatureLabel,
    area_label,
    clean_structure_name,
    species_of,
)
from celltypes.science.ephys.spikes import SPIKE_FEATURES
from celltypes.science.ephys.sweep_features import SWEEP_FEATURES
from celltypes.science.glif import GlifConfig
from celltypes.science.values import finite_or_none

# --- the cell's facts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    key: str = ""


def cell_facts(cell: Cell) -> list[Fact]:
    """The overview's facts: from the cell table where the cell has a row, else from the normalised records."""
    if cell.row is not None:
        return _row_facts(cell.row)
    return _specimen_facts(cell.specimen) if cell.specimen is not None else []


def _facts(pairs: list[tuple[str, str, Any]]) -> list[Fact]:
    return [Fact(label, str(value), key) for key, label, value in pairs if value not in (None, "")]


def _depth(value: float | None) -> str | None:
    if value is None or not math.isfinite(value):
        return None
    return f"{value:.3f} (0 = pia, 1 = white matter)"


def _row_facts(row: ApiCellTypesSpecimenDetail) -> list[Fact]:
    structure = clean_structure_name(row.structure_name)
    if row.structure_acronym == row.structure_parent_acronym:
        structure = None  # human cells: the area is the structure
    elif structure and row.structure_acronym:
        structure = f"{structure} ({row.structure_acronym})"
    species = species_of(row.donor_species)
    human = species is not None and species.key == "human"
    return _facts(
        [
            ("specimen_id", "Specimen id", row.specimen_id),
            ("species", "Species", row.donor_species),
            ("donor", "Donor", row.donor_name),
            ("age", "Age", row.donor_age),
            ("sex", "Sex", row.donor_sex),
            ("disease_state", "Disease state", row.donor_disease_state if human else None),
            ("seizure_history", "Years of seizure history", row.donor_years_of_seizure_history),
            ("area", "Brain area", area_label(row.structure_parent_acronym)),
            ("structure", "Structure", structure),
            ("layer", "Cortical layer", row.structure_layer),
            ("depth", "Soma depth (normalized)", _depth(row.csl_normalized_depth)),
            ("hemisphere", "Hemisphere", row.specimen_hemisphere),
            ("line", "Transgenic line", row.line_name),
            ("reporter", "Reporter status", row.cell_reporter_status),
            ("dendrite_type", "Dendrite type", row.tag_dendrite_type),
            ("apical", "Apical dendrite", "n/a" if row.tag_apical == "NA" else row.tag_apical),
            ("reconstruction", "Reconstruction", row.nr_reconstruction_type),
        ]
    )


def _specimen_facts(specimen: Specimen) -> list[Fact]:
    donor = specimen.donor
    structure = specimen.structure
    tags = {}
    for tag in specimen.specimen_tags.all():
        kind, _, value = tag.name.partition(" - ")
        tags[kind] = value
    soma = next(iter(specimen.cell_soma_locations.all()), None)
    lines = ", ".join(line.name for line in donor.transgenic_lines.all()) if donor else None
    parent = structure.parent if structure else None
    return _facts(
        [
            ("specimen_id", "Specimen id", specimen.id),
            ("species", "Species", donor.organism.name if donor else None),
            ("donor", "Donor", donor.name if donor else None),
            ("age", "Age", donor.age if donor else None),
            ("sex", "Sex", donor.sex if donor else None),
            ("disease_state", "Disease state", donor.disease_state if donor else None),
            ("area", "Brain area", area_label(parent.acronym) if parent else None),
            ("structure", "Structure", clean_structure_name(structure.name) if structure else None),
            ("depth", "Soma depth (normalized)", _depth(soma.normalized_depth) if soma else None),
            ("hemisphere", "Hemisphere", specimen.hemisphere),
            ("line", "Transgenic line", lines),
            ("reporter", "Reporter status", specimen.cell_reporter.name if specimen.cell_reporter else None),
            ("dendrite_type", "Dendrite type", tags.get("dendrite type")),
            ("apical", "Apical dendrite", tags.get("apical")),
        ]
    )


# --- soma depth bar ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SomaDepth:
    """The soma's normalized cortical depth (0 = pia, 1 = white matter) and layer, for the morphology tab's bar."""

    value: float
    layer: str | None
    top: float = 24.0  # where the bar runs in the picture (SVG units)
    height: float = 166.0

    @property
    def y(self) -> float:
        """The soma's height in the picture (clamped to the bar: Allen lists a few depths just outside 0..1)."""
        return round(self.top + self.height * min(max(self.value, 0.0), 1.0), 1)

    @property
    def bottom(self) -> float:
        return self.top + self.height


def soma_depth(depth: tuple[float, str | None] | None) -> SomaDepth | None:
    return SomaDepth(value=depth[0], layer=depth[1]) if depth is not None else None


# --- feature tables ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureValue:
    """One row of a published-feature table (web/_feature_table.html)."""

    name: str
    label: str
    unit: str
    value: Any


def feature_rows(
    record: Model | None, labels: dict[str, FeatureLabel], *, skip: set[str], order: tuple[str, ...] = ()
) -> list[FeatureValue]:
    """Every concrete field of ``record`` (Allen's names) with its label and unit; NaN shown as missing."""
    if record is None:
        return []
    rank = {name: index for index, name in enumerate(order)}
    rows = []
    for model_field in record._meta.concrete_fields:
        name = model_field.attname
        if name in skip:
            continue
        label = labels.get(name, FeatureLabel(name.replace("_", " ")))
        rows.append(FeatureValue(name, label.label, label.unit, finite_or_none(getattr(record, name))))
    return sorted(rows, key=lambda row: rank.get(row.name, len(rank))) if order else rows


def ephys_feature_rows(record: Model | None) -> list[FeatureValue]:
    return feature_rows(record, EPHYS_FEATURE_LABELS, skip={"id", "specimen_id"})


def morphology_feature_rows(record: Model | None) -> list[FeatureValue]:
    skip = {"id", "specimen_id", "neuron_reconstruction_type", "superseded", "tags"}
    return feature_rows(record, MORPHOLOGY_FEATURE_LABELS, skip=skip, order=MORPHOLOGY_COLUMNS)


# --- the morphology tab ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MorphologyPreview:
    """One rendered projection as the tab first shows it: ready (the image) or pending (an htmx fragment polls)."""

    plane: str
    state: str  # "ready" or "pending"
    size: int = PREVIEW_SIZE


@dataclass(frozen=True)
class MorphologyTab:
    """The morphology tab: the selector's data plus what it prints (published rows, previews, colour key)."""

    data: CellMorphology
    features: list[FeatureValue]
    previews: list[MorphologyPreview]
    colour_key: tuple[ColourKey, ...] = COMPARTMENT_COLOURS
    not_computed: tuple[str, ...] = tuple(NOT_COMPUTED)

    def __getattr__(self, name: str) -> Any:  # the selector's fields read through (reconstruction, drawn, ...)
        return getattr(self.data, name)

    @property
    def agreement_percent(self) -> str:
        return f"{100 * AGREEMENT_RTOL:g} %"

    @property
    def drawn_is_older(self) -> bool:
        return self.data.drawn is not None and self.data.drawn.superseded

    @property
    def current_features(self) -> dict[str, Any]:
        """Allen's published values of the current record, by column (shown beside an older drawn one)."""
        return {feature.name: feature.value for feature in self.features}


def morphology_tab(data: CellMorphology) -> MorphologyTab:
    previews = [
        MorphologyPreview(plane, "ready" if state is PreviewState.READY else "pending")
        for plane, state in data.preview_states.items()
    ]
    return MorphologyTab(data=data, features=morphology_feature_rows(data.reconstruction), previews=previews)


# --- the electrophysiology tab -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepBox:
    """One clickable sweep of the browser: what the box prints, and whether its samples are held."""

    number: int
    stimulus_name: str
    amplitude: str  # with its unit, "" when unknown
    spikes: str  # "3 spikes" (the table's count), "25 spikes (computed)" (a held window's), "spikes —" (unknown)
    qc: str  # "pass" / "fail", "" when unknown
    held: bool
    clamp: str = "current"  # or "voltage" (no spike count)


@dataclass(frozen=True)
class SweepGroup:
    name: str
    sweeps: list[SweepBox]

    @property
    def held_numbers(self) -> list[int]:
        return [box.number for box in self.sweeps if box.held]


@dataclass(frozen=True)
class FeatureComparison:
    """A feature we computed from a held sweep beside Allen's published value, and why they may differ."""

    label: str
    unit: str
    computed: float | None
    published: float | None
    agrees: bool | None  # None: one of the two is missing
    reason: str


@dataclass(frozen=True)
class EphysTab:
    data: CellEphys
    features: list[FeatureValue]
    groups: list[SweepGroup]
    comparisons: list[FeatureComparison]
    provenance: list[str]
    unreadable: list[str]  # held windows whose file cannot be read
    plot_config: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.data, name)

    @property
    def voltage_clamp(self) -> bool:
        return bool(self.data.sweeps) and all(s.stimulus_units == VOLTAGE_CLAMP_UNITS for s in self.data.sweeps)


def _amplitude(value: float | None, units: str | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    unit = STIMULUS_UNITS.get(units or "", units or "")
    return f"{value:.4g} {unit}".strip()


def _spikes(count: int | None) -> str:
    return "spikes —" if count is None else f"{count} spike{'' if count == 1 else 's'}"


def sweep_groups(ephys: CellEphys, computed_spikes: dict[int, int] | None = None) -> list[SweepGroup]:
    """The sweeps (the table, plus held windows the table lacks, with ``computed_spikes`` by sweep number) by
    stimulus group, in the vocabulary's order."""
    group_of = {name: group for group, names in STIMULUS_GROUPS for name in names}
    held = ephys.held_sweep_numbers
    boxes: dict[str, list[SweepBox]] = {}
    tabled = set()
    for s in ephys.sweeps:
        tabled.add(s.sweep_number)
        box = SweepBox(
            number=s.sweep_number,
            stimulus_name=s.stimulus_name or "Unknown",
            amplitude=_amplitude(s.stimulus_absolute_amplitude, s.stimulus_units),
            spikes=_spikes(s.num_spikes),
            qc="",
            held=s.sweep_number in held,
            clamp="voltage" if s.stimulus_units == VOLTAGE_CLAMP_UNITS else "current",
        )
        boxes.setdefault(group_of.get(s.stimulus_name or "", OTHER_STIMULI), []).append(box)
    for w in ephys.held_windows:
        if w.sweep_number not in tabled:
            counted = (computed_spikes or {}).get(w.sweep_number)
            spikes = _spikes(counted) + (" (computed)" if counted is not None else "")
            box = SweepBox(w.sweep_number, w.stimulus_name, _amplitude(w.stimulus_amplitude, "Amps"), spikes, "", True)
            boxes.setdefault(group_of.get(w.stimulus_name, OTHER_STIMULI), []).append(box)
    order = [group for group, _ in STIMULUS_GROUPS] + [OTHER_STIMULI]
    return [SweepGroup(name, sorted(boxes[name], key=lambda b: b.number)) for name in order if boxes.get(name)]


def _agrees(unit: str, computed: float, published: float) -> bool:
    if unit == "mV":
        return abs(computed - published) <= EPHYS_AGREEMENT_MV
    return abs(computed - published) <= EPHYS_AGREEMENT_RTOL * max(abs(computed), abs(published))


def feature_comparisons(computed: ComputedSweep | None, record: Model | None) -> list[FeatureComparison]:
    """Computed features of one held sweep beside Allen's cell-level record, with the reason they may differ."""
    if computed is None or record is None:
        return []
    window = computed.window
    where = (
        f"this is sweep {window.sweep_number} ({_amplitude(window.stimulus_amplitude, 'Amps')}), "
        f"computed from its held {1e3 * (window.window_end - window.window_start):.0f} ms window"
    )
    rows = []
    for level, name, column, source in EPHYS_COMPARISONS:
        registry = SPIKE_FEATURES if level == "first_spike" else SWEEP_FEATURES
        feature = registry[name]
        value = finite_or_none((computed.first_spike if level == "first_spike" else computed.sweep).get(name))
        published = finite_or_none(getattr(record, column, None))
        label = EPHYS_FEATURE_LABELS.get(column, FeatureLabel(column)).label
        same_sweep = source == "rheobase" and getattr(record, "rheobase_sweep_number", None) == window.sweep_number
        if value is None or published is None:
            agrees = None
        else:
            agrees = _agrees(feature.unit, value, published)
        if same_sweep:
            reason = "the same sweep as Allen's (its rheobase sweep)"
        else:
            reason = f"{EPHYS_SOURCE_SWEEPS[source]}; {where}"
        rows.append(FeatureComparison(label, feature.unit, value, published, agrees, reason))
    return rows


def ephys_tab(ephys: CellEphys, specimen_id: int, trace_url: str) -> EphysTab:
    computed = [held_window_features(w) for w in ephys.held_windows]
    readable = [c for c in computed if c is not None]
    groups = sweep_groups(ephys, {c.window.sweep_number: int(c.sweep["num_spikes"]) for c in readable})
    curves = sweep_table_curves(ephys.sweeps)
    first_held = next((n for g in groups for n in g.held_numbers), None)
    return EphysTab(
        data=ephys,
        features=ephys_feature_rows(ephys.record),
        groups=groups,
        comparisons=feature_comparisons(readable[0] if readable else None, ephys.record),
        provenance=[w.provenance for w in ephys.held_windows],
        unreadable=[w.source_path for w, c in zip(ephys.held_windows, computed, strict=True) if c is None],
        plot_config={
            "specimen": specimen_id,
            "trace_url": trace_url,
            "default_sweep": first_held,
            "groups": {g.name: g.held_numbers for g in groups},
            "fi": [[p.amplitude, p.value, p.sweep_number] for p in curves.fi],
            "vi": [[p.amplitude, p.value, p.sweep_number] for p in curves.vi],
        },
    )


# --- the models tab ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterRow:
    label: str
    value: str
    unit: str = ""
    name: str = ""  # the name in the model's file


def _g(value: float | None, scale: float = 1.0, digits: int = 4) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{float(value) * scale:.{digits}g}"


def glif_parameter_rows(config: GlifConfig) -> list[ParameterRow]:
    """A GLIF neuron_config in readable units, fitted coefficients applied (as the simulator applies them)."""
    resistance = float(config.R_input) / float(config.coefficient("G"))
    capacitance = float(config.C) * float(config.coefficient("C"))
    rows = []
    if config.El_reference is not None:
        rows.append(ParameterRow("Resting potential", _g(config.El_reference, 1e3), "mV", "El_reference"))
    rows += [
        ParameterRow("Input resistance", _g(resistance, 1e-6), "MΩ", "R_input / coeffs.G"),
        ParameterRow("Capacitance", _g(capacitance, 1e12), "pF", "C × coeffs.C"),
        ParameterRow("Membrane time constant", _g(resistance * capacitance, 1e3), "ms", "R × C"),
        ParameterRow(
            "Threshold above rest", _g(float(config.th_inf) * float(config.coefficient("th_inf")), 1e3), "mV", "th_inf"
        ),
    ]
    if config.th_adapt is not None:
        rows.append(ParameterRow("Adapted threshold above rest", _g(config.th_adapt, 1e3), "mV", "th_adapt"))
    rows += [
        ParameterRow("Spike cut", _g(config.spike_cut_length * float(config.dt), 1e3), "ms", "spike_cut_length × dt"),
        ParameterRow("Time step", _g(config.dt, 1e3), "ms", "dt"),
    ]
    amplitudes = config.asc_amp_coefficients
    for index, (tau, amplitude) in enumerate(zip(config.asc_tau_array, config.asc_amp_array, strict=False)):
        if config.AScurrent_dynamics_method.name == "none":
            break
        scaled = float(amplitude) * float(amplitudes[index] if index < len(amplitudes) else 1.0)
        rows.append(
            ParameterRow(f"After-spike current {index + 1}: amplitude", _g(scaled, 1e12), "pA", "asc_amp_array")
        )
        rows.append(
            ParameterRow(f"After-spike current {index + 1}: time constant", _g(tau, 1e3), "ms", "asc_tau_array")
        )
    for kind, method in (
        ("Voltage reset", config.voltage_reset_method),
        ("Threshold reset", config.threshold_reset_method),
        ("Threshold dynamics", config.threshold_dynamics_method),
        ("After-spike current reset", config.AScurrent_reset_method),
    ):
        params = ", ".join(
            f"{key} = {_g(value) if isinstance(value, int | float) else value}" for key, value in method.params.items()
        )
        rows.append(ParameterRow(kind, method.name + (f" ({params})" if params else ""), "", kind.lower()))
    return rows


_GENOME_UNITS = (
    ("gbar_", "S/cm²"),
    ("g_pas", "S/cm²"),
    ("e_pas", "mV"),
    ("decay_", "ms"),
    ("cm", "µF/cm²"),
    ("Ra", "Ω·cm"),
    ("gamma_", "fraction"),
)


def _genome_unit(name: str) -> str:
    return next((unit for prefix, unit in _GENOME_UNITS if name.startswith(prefix)), "")


def biophysical_parameter_rows(fit: dict[str, Any]) -> tuple[list[ParameterRow], list[ParameterRow]]:
    """A fit's conditions and passive properties, then its genome (one row per section and parameter)."""
    conditions = (fit.get("conditions") or [{}])[0]
    passive = (fit.get("passive") or [{}])[0]
    fitting = (fit.get("fitting") or [{}])[0]
    general = [
        ParameterRow("Temperature", _g(conditions.get("celsius")), "°C", "celsius"),
        ParameterRow("Initial potential", _g(conditions.get("v_init")), "mV", "v_init"),
        ParameterRow("Junction potential", _g(fitting.get("junction_potential")), "mV", "junction_potential"),
    ]
    if "ra" in passive:
        general.append(ParameterRow("Axial resistance", _g(passive.get("ra")), "Ω·cm", "ra"))
    if "e_pas" in passive:
        general.append(ParameterRow("Leak reversal", _g(passive.get("e_pas")), "mV", "e_pas"))
    for entry in passive.get("cm") or []:
        general.append(
            ParameterRow(f"Membrane capacitance ({entry.get('section')})", _g(entry.get("cm")), "µF/cm²", "cm")
        )
    for entry in (conditions.get("erev") or [])[:1]:
        general += [
            ParameterRow("Na⁺ reversal", _g(entry.get("ena")), "mV", "ena"),
            ParameterRow("K⁺ reversal", _g(entry.get("ek")), "mV", "ek"),
        ]
    if fitting.get("sweeps"):
        general.append(ParameterRow("Fitted on sweeps", ", ".join(str(s) for s in fitting["sweeps"]), "", "sweeps"))
    genome = []
    for gene in fit.get("genome") or []:
        name = str(gene.get("name", ""))
        try:
            value = _g(float(gene.get("value")))
        except (TypeError, ValueError):
            value = str(gene.get("value"))
        section = str(gene.get("section", ""))
        mechanism = gene.get("mechanism") or "passive"
        genome.append(ParameterRow(f"{section}: {name} ({mechanism})", value, _genome_unit(name), name))
    return general, genome
