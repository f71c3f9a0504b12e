"""The cell search facets, defined once: the search page and the REST API both iterate FACETS.

A facet filters Allen's flat cell table (ApiCellTypesSpecimenDetail). Two kinds:

* a *field* facet filters one column; its values are the column's values (counted with one GROUP BY), or a fixed
  list of choices when the URL should carry a friendlier word than the stored value (``species=human``);
* a *flag* facet has fixed choices, each a condition of its own (``models=glif`` is ``m_glif > 0``).

Several values of one facet are ORed; different facets are ANDed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan

from celltypes.atlas.vocabulary import SPECIES, Species, area_label


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
        """Whether a URL value can select anything: any choice, or any short string for data-driven facets."""
        if self.choices:
            return self.choice(value) is not None
        return 0 < len(value) <= 200

    def q(self, values: tuple[str, ...] | list[str]) -> Q:
        """Rows matching any of `values` (OR within a facet)."""
        if self.choices:
            condition = Q()
            for value in values:
                if choice := self.choice(value):
                    condition |= choice.q
            return condition
        return Q(**{f"{self.field}__in": list(values)})


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
