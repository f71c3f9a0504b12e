"""The REST API's cell parameter groups; the range group is fed a synthetic range registry (the real one, the
search page's RANGE_FILTERS, is not on this branch yet)."""

from dataclasses import dataclass

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from celltypes.api.filters import RangeParameters, cell_search_arguments


@dataclass(frozen=True)
class SyntheticRange:
    key: str
    label: str


RANGES = RangeParameters([SyntheticRange("tau", "Membrane time constant"), SyntheticRange("ri", "Input resistance")])


def test_ranges_become_cell_queryset_arguments():
    assert RANGES.parse(QueryDict("tau_min=10&tau_max=20.5&ri_max=300")) == {
        "ranges": {"tau": (10.0, 20.5), "ri": (None, 300.0)}
    }
    assert RANGES.parse(QueryDict("tau_min=&q=x")) == {}


@pytest.mark.parametrize("query", ["tau_min=abc", "tau_max=nan", "ri_min=inf", "tau_min=30&tau_max=20"])
def test_bad_bounds_are_400_naming_the_parameter(query):
    with pytest.raises(ValidationError) as error:
        RANGES.parse(QueryDict(query))
    assert set(error.value.detail) <= {"tau_min", "tau_max", "ri_min"}


def test_ranges_describe_their_parameters():
    assert [p["name"] for p in RANGES.parameters()] == ["tau_min", "tau_max", "ri_min", "ri_max"]
    assert {p["schema"]["type"] for p in RANGES.parameters()} == {"number"}


def test_facets_and_text_without_ranges():
    assert cell_search_arguments(QueryDict("species=human&species=mouse&q=%20Sst%20%20Cre")) == {
        "filters": {"species": ("human", "mouse")},
        "q": "Sst Cre",
    }
