"""The cell search filters, defined once: the search page and the REST API both iterate FACETS and RANGE_FILTERS.

A facet filters Allen's flat cell table (ApiCellTypesSpecimenDetail). Two kinds:

* a *field* facet filters one column; its values are the column's values (counted with one GROUP BY), or a fixed
  list of choices when the URL should carry a friendlier word than the stored value (``species=human``);
* a *flag* facet has fixed choices, each a condition of its own (``models=glif`` is ``m_glif > 0``).

Several values of one facet are ORed; different facets are ANDed.

A *range filter* keeps the cells whose value of one numeric feature column (an ephys feature ``ef__*``, a
morphology feature ``nr__*``, the normalized soma depth) lies between two bounds, either of them open. A cell
without a value is left out once a bound is set. Range filters AND with each other and with the facets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan

from celltypes.atlas.vocabulary import (
    CELL_TABLE_FEATURE_LABELS,
    EPHYS_FEATURE_LABELS,
    MORPHOLOGY_FEATURE_LABELS,
    SPECIES,
    FeatureLabel,
    Species,
    area_label,
)


@dataclass(frozen=True)
class Choice:
    """One fixed facet value: the word in the URL, its label, and the rows it selects."""

    value: str
    label: str
    q: Q


@dataclass(frozen=True)
class Facet:
    key: str
    label: str
    field: str
    # Fixed choices (flag facets, and field facets whose URL words differ from the stored values).
    choices: tuple[Choice, ...] = ()
    # Labels for stored values of a field facet without choices; unknown values show as stored.
    value_labels: Mapping[str, str] = field(default_factory=dict)
    label_for: Callable[[str], str] | None = None
    # List data-driven values in their own order (layers) rather than by count.
    order_by_value: bool = False

    @property
    def is_dynamic(self) -> bool:
        """True when the values come from the data (GROUP BY), not from a fixed list."""
        return not self.choices

    def choice(self, value: str) -> Choice | None:
        for choice in self.choices:
            if choice.value == value:
                return choice
        return None

    def value_label(self, value: str) -> str:
        if choice := self.choice(value):
            return choice.label
        if value in self.value_labels:
            return self.value_labels[value]
        if self.label_for is not None:
            return self.label_for(value)
        return value

    def accepts(self, value: str) -> bool:
        """Whether a URL value is well formed (a short string); it may still be unknown, see `knows`."""
        return 0 < len(value) <= 200

    def knows(self, value: str) -> bool:
        """Whether a value can mean something: one of the fixed choices; any value of a data-driven facet."""
        return self.choice(value) is not None if self.choices else True

    def q(self, values: tuple[str, ...] | list[str]) -> Q:
        """Rows matching any of `values` (OR within a facet). Unknown values match nothing, never everything."""
        if self.choices:
            condition = NOTHING
            for value in values:
                if choice := self.choice(value):
                    condition |= choice.q
            return condition
        return Q(**{f"{self.field}__in": list(values)})


# A condition no row meets (a Q() would mean "every row").
NOTHING = Q(pk__in=[])


def _has_models(field_name: str) -> Q:
    """`field > 0` written as an expression: SQLite then scans the covering facet index instead of seeking the
    column's own index and reading half the table row by row (3x slower at 100k cells)."""
    return Q(GreaterThan(Coalesce(field_name, 0), 0))


def _species(species: Species) -> Choice:
    return Choice(species.key, species.label, Q(donor_species__in=species.spellings))


def _stored(field_name: str, value: str, label: str) -> Choice:
    return Choice(value, label, Q(**{field_name: value}))


FACETS: tuple[Facet, ...] = (
    Facet(
        key="species",
        label="Species",
        field="donor_species",
        choices=tuple(_species(species) for species in SPECIES),
    ),
    Facet(key="area", label="Brain area", field="structure_parent_acronym", label_for=area_label),
    Facet(
        key="layer",
        label="Cortical layer",
        field="structure_layer",
        label_for=lambda v: f"layer {v}",
        order_by_value=True,
    ),
    Facet(
        key="dendrite",
        label="Dendrite type",
        field="tag_dendrite_type",
        choices=(
            _stored("tag_dendrite_type", "spiny", "spiny"),
            _stored("tag_dendrite_type", "aspiny", "aspiny"),
            _stored("tag_dendrite_type", "sparsely spiny", "sparsely spiny"),
        ),
    ),
    Facet(
        key="apical",
        label="Apical dendrite",
        field="tag_apical",
        choices=(
            _stored("tag_apical", "intact", "intact"),
            _stored("tag_apical", "truncated", "truncated"),
            _stored("tag_apical", "NA", "n/a"),
        ),
    ),
    Facet(key="line", label="Transgenic line", field="line_name"),
    Facet(key="reporter", label="Reporter status", field="cell_reporter_status"),
    Facet(key="sex", label="Donor sex", field="donor_sex"),
    Facet(key="disease", label="Disease state (human)", field="donor_disease_state"),
    Facet(
        key="reconstruction",
        label="Reconstruction",
        field="nr_reconstruction_type",
        choices=(
            _stored("nr_reconstruction_type", "full", "full"),
            _stored("nr_reconstruction_type", "dendrite-only", "dendrite-only"),
        ),
    ),
    Facet(
        key="models",
        label="Models",
        field="m_glif",
        choices=(
            Choice("glif", "GLIF", _has_models("m_glif")),
            Choice("perisomatic", "biophysical, perisomatic", _has_models("m_biophys_perisomatic")),
            Choice("all-active", "biophysical, all-active", _has_models("m_biophys_all_active")),
        ),
    ),
)

FACETS_BY_KEY: dict[str, Facet] = {facet.key: facet for facet in FACETS}


# --- numeric range filters -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RangeFilter:
    """A numeric feature of the cell table that can be filtered by a range (and drawn as a histogram)."""

    key: str  # the word in the URL
    field: str  # the model field
    group: str  # "Electrophysiology" or "Morphology"
    feature: FeatureLabel
    # Digits shown for a bound; whole numbers for counts.
    digits: int = 2
    # One of Allen's parallel-coordinates axes (the default axes of that view).
    allen_axis: bool = True

    @property
    def label(self) -> str:
        return self.feature.label

    @property
    def short(self) -> str:
        return self.feature.heading

    @property
    def unit(self) -> str:
        return self.feature.unit

    def q(self, low: float | None, high: float | None) -> Q:
        """Cells whose value lies in [low, high]; an open bound is None. Both None: no condition."""
        condition = Q()
        if low is not None:
            condition &= Q(**{f"{self.field}__gte": low})
        if high is not None:
            condition &= Q(**{f"{self.field}__lte": high})
        return condition


def _ephys_range(key: str, feature: str, digits: int) -> RangeFilter:
    label = EPHYS_FEATURE_LABELS.get(feature) or CELL_TABLE_FEATURE_LABELS[feature]
    return RangeFilter(key, f"ef_{feature}", "Electrophysiology", label, digits)


def _morphology_range(key: str, feature: str, digits: int) -> RangeFilter:
    return RangeFilter(key, f"nr_{feature}", "Morphology", MORPHOLOGY_FEATURE_LABELS[feature], digits)


# Allen's parallel-coordinates axes (ten ephys features, five morphology features and the soma depth) and the
# fast trough potential, the one other ephys feature of the cell table.
RANGE_FILTERS: tuple[RangeFilter, ...] = (
    _ephys_range("adaptation", "adaptation", 3),
    _ephys_range("avg_rate", "avg_firing_rate", 1),
    _ephys_range("avg_isi", "avg_isi", 1),
    _ephys_range("fi_slope", "f_i_curve_slope", 3),
    _ephys_range("ri", "ri", 0),
    _ephys_range("tau", "tau", 1),
    _ephys_range("ramp_spike", "peak_t_ramp", 2),
    _ephys_range("vrest", "vrest", 1),
    _ephys_range("rheobase", "threshold_i_long_square", 0),
    _ephys_range("updown", "upstroke_downstroke_ratio_long_square", 2),
    RangeFilter(
        "fast_trough",
        "ef_fast_trough_v_long_square",
        "Electrophysiology",
        EPHYS_FEATURE_LABELS["fast_trough_v_long_square"],
        digits=1,
        allen_axis=False,
    ),
    _morphology_range("contraction", "average_contraction", 3),
    _morphology_range("max_distance", "max_euclidean_distance", 0),
    RangeFilter("depth", "csl_normalized_depth", "Morphology", CELL_TABLE_FEATURE_LABELS["normalized_depth"], digits=3),
    _morphology_range("bifurcations", "number_bifurcations", 0),
    _morphology_range("stems", "number_stems", 0),
    _morphology_range("pd_ratio", "average_parent_daughter_ratio", 3),
)
RANGE_FILTERS_BY_KEY: dict[str, RangeFilter] = {r.key: r for r in RANGE_FILTERS}
