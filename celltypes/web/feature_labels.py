"""Friendly labels and units for Allen's feature columns, keyed by Allen's names."""

from __future__ import annotations

from dataclasses import dataclass

from celltypes.atlas.morphology_services import MORPHOLOGY_COLUMNS


@dataclass(frozen=True)
class FeatureLabel:
    label: str
    unit: str = ""


_STIMULI = {"long_square": "long square", "short_square": "short square", "ramp": "ramp"}

_PER_STIMULUS = {
    "fast_trough_t": FeatureLabel("Fast trough time", "s"),
    "fast_trough_v": FeatureLabel("Fast trough potential", "mV"),
    "peak_t": FeatureLabel("Spike peak time", "s"),
    "peak_v": FeatureLabel("Spike peak potential", "mV"),
    "slow_trough_t": FeatureLabel("Slow trough time", "s"),
    "slow_trough_v": FeatureLabel("Slow trough potential", "mV"),
    "threshold_i": FeatureLabel("Threshold current", "pA"),
    "threshold_t": FeatureLabel("Threshold time", "s"),
    "threshold_v": FeatureLabel("Threshold potential", "mV"),
    "trough_t": FeatureLabel("Trough time", "s"),
    "trough_v": FeatureLabel("Trough potential", "mV"),
    "upstroke_downstroke_ratio": FeatureLabel("Upstroke:downstroke ratio"),
}

EPHYS_FEATURE_LABELS: dict[str, FeatureLabel] = {
    "adaptation": FeatureLabel("Adaptation index"),
    "avg_isi": FeatureLabel("Average interspike interval", "ms"),
    "electrode_0_pa": FeatureLabel("Electrode offset", "pA"),
    "f_i_curve_slope": FeatureLabel("f-I curve slope", "spikes/s/pA"),
    "has_burst": FeatureLabel("Has burst"),
    "has_delay": FeatureLabel("Has delay"),
    "has_pause": FeatureLabel("Has pause"),
    "input_resistance_mohm": FeatureLabel("Input resistance", "MΩ"),
    "latency": FeatureLabel("Latency to first spike", "s"),
    "rheobase_sweep_id": FeatureLabel("Rheobase sweep id"),
    "rheobase_sweep_number": FeatureLabel("Rheobase sweep number"),
    "ri": FeatureLabel("Input resistance (Ri)", "MΩ"),
    "sag": FeatureLabel("Sag ratio"),
    "seal_gohm": FeatureLabel("Seal resistance", "GΩ"),
    "tau": FeatureLabel("Membrane time constant (tau)", "ms"),
    "thumbnail_sweep_id": FeatureLabel("Thumbnail sweep id"),
    "vm_for_sag": FeatureLabel("Vm at sag measurement", "mV"),
    "vrest": FeatureLabel("Resting membrane potential", "mV"),
}
for _prefix, _label in _PER_STIMULUS.items():
    for _suffix, _stimulus in _STIMULI.items():
        EPHYS_FEATURE_LABELS[f"{_prefix}_{_suffix}"] = FeatureLabel(f"{_label.label} ({_stimulus})", _label.unit)
EPHYS_FEATURE_LABELS["threshold_i_long_square"] = FeatureLabel("Rheobase (threshold current, long square)", "pA")

# Morphology labels are the atlas's (the feature comparison uses the same table), plus the scale factors.
MORPHOLOGY_FEATURE_LABELS: dict[str, FeatureLabel] = {
    **{name: FeatureLabel(label, unit) for name, (label, unit) in MORPHOLOGY_COLUMNS.items()},
    **{f"scale_factor_{axis}": FeatureLabel(f"Scale factor {axis}", "µm/pixel") for axis in "xyz"},
}
