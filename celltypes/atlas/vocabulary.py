"""One home per domain fact that pages, the API, previews and the loader all use.

Species and their spellings, the label and unit of every published feature column, the preview planes,
formats and colours, the agreement tolerance, and the names of brain areas. Facts that the science core needs
to compute (the projection planes, the compartment colours, the morphology feature labels registered beside
their functions) live there and are re-exported here, so that a caller outside the science core imports them
from one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from celltypes.science.morphology import FEATURE_LABELS as _MORPHOLOGY_FEATURE_LABELS
from celltypes.science.morphology_views import COLOURS
from celltypes.science.swc import APICAL_DENDRITE, AXON, BASAL_DENDRITE, SOMA

# --- species ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Species:
    """A species as the URL says it (``mouse``), as people read it (``Mouse``), and as Allen stores it."""

    key: str
    label: str
    name: str  # Allen's organism name
    organism_id: int  # Allen's Organism id
    product: str  # Allen's Product (data set) of this species' cells
    spellings: tuple[str, ...]  # every spelling of ``name`` found in Allen's tables


MOUSE = Species("mouse", "Mouse", "Mus musculus", 2, "Mouse Cell Types", ("Mus musculus", "Mus Musculus"))
HUMAN = Species("human", "Human", "Homo sapiens", 1, "Human Cell Types", ("Homo Sapiens", "Homo sapiens"))
SPECIES: tuple[Species, ...] = (MOUSE, HUMAN)


def species_of(stored: str | None) -> Species | None:
    """The species an Allen organism name (any spelling, any case) names; None when unknown."""
    lowered = (stored or "").strip().lower()
    return next((s for s in SPECIES if s.name.lower() == lowered), None)


def species_label(stored: str | None) -> str | None:
    """ "Mouse" for "Mus musculus"; an unknown name as given."""
    species = species_of(stored)
    return species.label if species else stored


# --- feature labels and units ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureLabel:
    """How a feature column is printed: its label, unit and (for narrow table headers) a short label."""

    label: str
    unit: str = ""
    short: str = ""

    @property
    def heading(self) -> str:
        return self.short or self.label


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

# Allen's EphysFeature columns (the cell table repeats them with an ``ef__`` prefix).
EPHYS_FEATURE_LABELS: dict[str, FeatureLabel] = {
    "adaptation": FeatureLabel("Adaptation index", short="Adaptation"),
    "avg_isi": FeatureLabel("Average interspike interval", "ms", short="Avg ISI"),
    "electrode_0_pa": FeatureLabel("Electrode offset", "pA"),
    "f_i_curve_slope": FeatureLabel("f-I curve slope", "spikes/s/pA", short="f-I slope"),
    "has_burst": FeatureLabel("Has burst"),
    "has_delay": FeatureLabel("Has delay"),
    "has_pause": FeatureLabel("Has pause"),
    "input_resistance_mohm": FeatureLabel("Input resistance", "MΩ"),
    "latency": FeatureLabel("Latency to first spike", "s"),
    "rheobase_sweep_id": FeatureLabel("Rheobase sweep id"),
    "rheobase_sweep_number": FeatureLabel("Rheobase sweep number"),
    "ri": FeatureLabel("Input resistance (Ri)", "MΩ", short="Ri"),
    "sag": FeatureLabel("Sag ratio"),
    "seal_gohm": FeatureLabel("Seal resistance", "GΩ"),
    "tau": FeatureLabel("Membrane time constant (tau)", "ms", short="Tau"),
    "thumbnail_sweep_id": FeatureLabel("Thumbnail sweep id"),
    "vm_for_sag": FeatureLabel("Vm at sag measurement", "mV"),
    "vrest": FeatureLabel("Resting membrane potential", "mV", short="Resting Vm"),
}
for _prefix, _label in _PER_STIMULUS.items():
    for _suffix, _stimulus in _STIMULI.items():
        EPHYS_FEATURE_LABELS[f"{_prefix}_{_suffix}"] = FeatureLabel(f"{_label.label} ({_stimulus})", _label.unit)
EPHYS_FEATURE_LABELS["threshold_i_long_square"] = FeatureLabel(
    "Rheobase (threshold current, long square)", "pA", short="Rheobase"
)
EPHYS_FEATURE_LABELS["upstroke_downstroke_ratio_long_square"] = FeatureLabel(
    "Upstroke:downstroke ratio (long square)", short="Up:down ratio"
)

# Columns of Allen's cell table (ApiCellTypesSpecimenDetail) that are neither an EphysFeature nor a
# NeuronReconstruction column: ``ef__avg_firing_rate`` and the soma's ``csl__normalized_depth``.
CELL_TABLE_FEATURE_LABELS: dict[str, FeatureLabel] = {
    "avg_firing_rate": FeatureLabel("Average firing rate", "Hz", short="Avg firing rate"),
    "normalized_depth": FeatureLabel("Soma depth (normalized)", short="Normalized depth"),
}

# Allen's NeuronReconstruction feature columns, in display order, registered beside their functions in the
# science core; plus the scale factors of the record.
MORPHOLOGY_FEATURE_LABELS: dict[str, FeatureLabel] = {
    **{name: FeatureLabel(label, unit) for name, (label, unit) in _MORPHOLOGY_FEATURE_LABELS.items()},
    **{f"scale_factor_{axis}": FeatureLabel(f"Scale factor {axis}", "µm/pixel") for axis in "xyz"},
}
MORPHOLOGY_COLUMNS: tuple[str, ...] = tuple(_MORPHOLOGY_FEATURE_LABELS)

# Allen's well-known file type names, as a person reads them (the names stay in tooltips and the API).
FILE_TYPE_LABELS: dict[str, str] = {
    "NWBDownload": "NWB recording",
    "NWB": "NWB recording",
    "3DNeuronReconstruction": "SWC reconstruction",
    "EphysFeatureExtractionV3": "feature extraction",
}


def file_type_label(name: str | None) -> str:
    """ "NWB recording" for "NWBDownload"; an unknown type name as given."""
    return FILE_TYPE_LABELS.get(name or "", name or "")


STIMULUS_UNITS = {"Amps": "pA", "Volts": "mV"}  # Allen's sweep amplitudes: units "Amps" are pA, "Volts" mV

# --- sweeps and their stimulus groups ----------------------------------------------------------------------------

LONG_SQUARE = "Long Square"
SHORT_SQUARE = "Short Square"
# The sweep browser's stimulus groups, in the order the page shows them: each group lists the stimulus names
# (Allen's sweep table's stimulus_name) it gathers. A name no group lists goes to OTHER_STIMULI.
STIMULUS_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        SHORT_SQUARE,
        (
            SHORT_SQUARE,
            "Short Square - Triple",
            "Short Square - Hold -60mV",
            "Short Square - Hold -70mV",
            "Short Square - Hold -80mV",
        ),
    ),
    (LONG_SQUARE, (LONG_SQUARE,)),
    ("Ramp", ("Ramp", "Ramp to Rheobase")),
    ("Noise 1", ("Noise 1",)),
    ("Noise 2", ("Noise 2",)),
    ("Square - 2s Suprathreshold", ("Square - 2s Suprathreshold",)),
    ("Square - 0.5ms Subthreshold", ("Square - 0.5ms Subthreshold",)),
    ("Test", ("Test",)),
)
OTHER_STIMULI = "Other stimuli"
# Computed features of one held Long Square sweep set beside Allen's cell-level EphysFeature column: (computed
# level, computed name, Allen's column, which of Allen's sweeps the column comes from). The reasons they may differ
# are in EPHYS_SOURCE_SWEEPS.
EPHYS_COMPARISONS: tuple[tuple[str, str, str, str], ...] = (
    ("first_spike", "threshold_v", "threshold_v_long_square", "rheobase"),
    ("first_spike", "peak_v", "peak_v_long_square", "rheobase"),
    ("first_spike", "fast_trough_v", "fast_trough_v_long_square", "rheobase"),
    ("first_spike", "upstroke_downstroke_ratio", "upstroke_downstroke_ratio_long_square", "rheobase"),
    ("sweep", "latency", "latency", "rheobase"),
    ("sweep", "mean_isi", "avg_isi", "hero"),
    ("sweep", "adapt", "adaptation", "hero"),
    ("sweep", "v_baseline", "vrest", "subthreshold"),
)
EPHYS_SOURCE_SWEEPS = {
    "rheobase": "Allen's value is from the first spike of the cell's rheobase sweep (its lowest Long Square "
    "that fires)",
    "hero": "Allen's value is from the cell's hero sweep (a Long Square 39-61 pA above rheobase)",
    "subthreshold": "Allen's value averages the baseline of every Long Square sweep without spikes",
}
# Computed and published values agree within these: voltages (mV) absolutely, anything else relatively.
EPHYS_AGREEMENT_MV = 0.1
EPHYS_AGREEMENT_RTOL = 0.01
# Voltage-clamp sweeps (their stimulus is a command potential): drawn as command and current, never searched
# for spikes.
VOLTAGE_CLAMP_UNITS = "Volts"
# The card's trace thumbnail (Allen's): the short pulse's response in red, the long squares' in blue; px.
EPHYS_THUMBNAIL_COLOURS = {SHORT_SQUARE: "#d62828", LONG_SQUARE: "#1f5fbf"}
EPHYS_THUMBNAIL_SIZE = (192, 96)
EPHYS_THUMBNAIL_MAX_LONG_SQUARES = 3

# --- comparing computed with published values ------------------------------------------------------------------

# Relative difference under which a computed value "agrees" with the published one. Allen's older table prints
# 12 significant digits, so a true match is within ~1e-11; 1e-6 still separates different tracings.
AGREEMENT_RTOL = 1e-6
# Two NeuronReconstruction records are one tracing when all their published nr__ values agree this closely.
SAME_TRACING_RTOL = 1e-9

# --- morphology pictures ---------------------------------------------------------------------------------------

PREVIEW_PLANES: tuple[str, ...] = ("xy", "yz")
PREVIEW_FORMATS: tuple[str, ...] = ("svg", "png")
PREVIEW_CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
PREVIEW_SIZE = 300  # px, square
# What each picture on the morphology tab is: Allen's images, or our drawing of the reconstruction file.
ALLEN_PROJECTION_LABEL = "Allen's projection image"
ALLEN_STACK_LABEL = "Allen's image stack"
DRAWN_PROJECTION_LABEL = "drawn here from the SWC"
ALLEN_IMAGE_SHOWN_WIDTH = 600  # px: Allen's images are asked for downsampled to at most about this width
ALLEN_IMAGE_ZOOMS: tuple[int, ...] = (1, 2, 4)  # the stack viewer's zoom steps (each fetches sharper pixels)


@dataclass(frozen=True)
class ColourKey:
    label: str
    colour: str


COMPARTMENT_COLOURS: tuple[ColourKey, ...] = (
    ColourKey("soma", COLOURS[SOMA]),
    ColourKey("axon", COLOURS[AXON]),
    ColourKey("basal dendrite", COLOURS[BASAL_DENDRITE]),
    ColourKey("apical dendrite", COLOURS[APICAL_DENDRITE]),
)

# --- what a page says of data derived or uploaded here -----------------------------------------------------------

# A lab's own NWB upload (the trace provenance and the thumbnail caption say it in these words).
LAB_RECORDING_PROVENANCE = "a lab's own recording uploaded here (not Allen's data)"
# A sweep box of the ephys tab whose QC state no table holds (never a pass or fail that is not held).
QC_NOT_HELD = "QC not held"
# Why a biophysical model cannot be run here (the models tab, the f-I curve and the run requests say it alike).
FITTED_RECONSTRUCTION_NOT_HELD = "the reconstruction model {model_id} was fitted on is not held here"
# Why a file this copy lacks cannot be fetched (downloads, Allen's images, the SWC, the NWB fetch panel).
NO_UPSTREAM = "no upstream is configured (CELLTYPES_UPSTREAM) to fetch it from"
# The explained variance ratio computed here is offered for GLIF models only.
EXPLAINED_VARIANCE_GLIF_ONLY = "Computed here for GLIF models only"

# --- brain areas -----------------------------------------------------------------------------------------------

# Full names of the mouse brain areas (Allen CCF structure names) that are parents in the cell table: the table
# gives a parent's id and acronym but not its name.
STRUCTURE_NAMES: dict[str, str] = {
    "AUDp": "Primary auditory area",
    "AUDpo": "Posterior auditory area",
    "RSPagl": "Retrosplenial area, lateral agranular part",
    "RSPd": "Retrosplenial area, dorsal part",
    "RSPv": "Retrosplenial area, ventral part",
    "SSp": "Primary somatosensory area",
    "SSp-bfd": "Primary somatosensory area, barrel field",
    "SSp-n": "Primary somatosensory area, nose",
    "SSp-tr": "Primary somatosensory area, trunk",
    "SSp-un": "Primary somatosensory area, unassigned",
    "TEa": "Temporal association areas",
    "VISa": "Anterior area",
    "VISal": "Anterolateral visual area",
    "VISam": "Anteromedial visual area",
    "VISl": "Lateral visual area",
    "VISli": "Laterointermediate area",
    "VISp": "Primary visual area",
    "VISpl": "Posterolateral visual area",
    "VISpm": "posteromedial visual area",
    "VISpor": "Postrhinal area",
    "VISrl": "Rostrolateral area",
}
# The human parent structures in the cell table (their names also sit in structure__name of the same rows).
HUMAN_AREA_NAMES: dict[str, str] = {
    "AnG": "angular gyrus",
    "FroL": "frontal lobe",
    "IFG": "inferior frontal gyrus",
    "ITG": "inferior temporal gyrus",
    "MFG": "middle frontal gyrus",
    "MTG": "middle temporal gyrus",
    "PLP": "planum polare",
    "SFG": "superior frontal gyrus",
    "TemL": "temporal lobe",
}


def area_label(acronym: str | None) -> str | None:
    """ "VISp" -> "Primary visual area (VISp)", "MTG" -> "Middle temporal gyrus (MTG)"; unknown acronyms as given."""
    if not acronym:
        return acronym
    name = STRUCTURE_NAMES.get(acronym) or HUMAN_AREA_NAMES.get(acronym)
    return f"{name[:1].upper()}{name[1:]} ({acronym})" if name else acronym


def clean_structure_name(name: str | None) -> str | None:
    """Allen's structure names carry literal double quotes ('"Primary visual area, layer 4"')."""
    return name.strip().strip('"').strip() if name else name
