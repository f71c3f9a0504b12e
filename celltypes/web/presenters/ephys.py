"""The electrophysiology tab: sweep boxes by stimulus group, computed features beside Allen's, plot settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Model

from celltypes.atlas.selectors.ephys import CellEphys, ComputedSweep, held_window_features, sweep_table_curves
from celltypes.atlas.vocabulary import (
    EPHYS_AGREEMENT_MV,
    EPHYS_AGREEMENT_RTOL,
    EPHYS_COMPARISONS,
    EPHYS_FEATURE_LABELS,
    EPHYS_SOURCE_SWEEPS,
    OTHER_STIMULI,
    QC_NOT_HELD,
    STIMULUS_GROUPS,
    STIMULUS_UNITS,
    VOLTAGE_CLAMP_UNITS,
    FeatureLabel,
)
from celltypes.science.ephys.spikes import SPIKE_FEATURES
from celltypes.science.ephys.sweep_features import SWEEP_FEATURES
from celltypes.science.values import finite_or_none
from celltypes.web.presenters.cells import FeatureValue, ephys_feature_rows

# --- the electrophysiology tab -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepBox:
    """One clickable sweep of the browser: what the box prints, and whether its samples are held."""

    number: int
    stimulus_name: str
    amplitude: str  # with its unit, "" when unknown
    spikes: str  # "3 spikes" (the table's count), "25 spikes (computed)" (a held window's), "spikes —" (unknown)
    qc: str  # "pass" / "fail", "" when no QC state is held (Allen's sweep table publishes none)
    held: bool
    clamp: str = "current"  # or "voltage" (no spike count)

    @property
    def qc_label(self) -> str:
        """What the box says of QC: never a pass or fail that is not held."""
        return f"QC {self.qc}" if self.qc else QC_NOT_HELD


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
    computed_here = " (computed)" if ephys.lab_recording is not None else ""  # a lab upload's counts are ours
    for s in ephys.sweeps:
        tabled.add(s.sweep_number)
        box = SweepBox(
            number=s.sweep_number,
            stimulus_name=s.stimulus_name or "Unknown",
            amplitude=_amplitude(s.stimulus_absolute_amplitude, s.stimulus_units),
            spikes=_spikes(s.num_spikes) + (computed_here if s.num_spikes is not None else ""),
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


def ephys_tab(ephys: CellEphys, specimen_id: int, trace_url: str, analysis_url: str = "") -> EphysTab:
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
            "analysis_url": analysis_url,
            "default_sweep": first_held,
            "groups": {g.name: g.held_numbers for g in groups},
            "fi": [[p.amplitude, p.value, p.sweep_number] for p in curves.fi],
            "vi": [[p.amplitude, p.value, p.sweep_number] for p in curves.vi],
        },
    )
