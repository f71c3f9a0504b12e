"""Fixtures for the web pages.

The demo set (2,333 real cells plus two recorded specimens) is loaded once per session into the test database by
the `django_db_setup` override in tests/conftest.py, so every test here sees real Allen data.
"""

from __future__ import annotations

import re

import pytest
from django.db.models import Q

from celltypes.atlas.models import ApiCellTypesSpecimenDetail

# An oracle for the facets, written independently of celltypes.atlas.facets: facet key -> value -> ORM condition.
ORACLE = {
    "species": lambda v: Q(donor_species__iexact={"mouse": "Mus musculus", "human": "Homo sapiens"}[v]),
    "area": lambda v: Q(structure_parent_acronym=v),
    "layer": lambda v: Q(structure_layer=v),
    "dendrite": lambda v: Q(tag_dendrite_type=v),
    "apical": lambda v: Q(tag_apical=v),
    "line": lambda v: Q(line_name=v),
    "reporter": lambda v: Q(cell_reporter_status=v),
    "sex": lambda v: Q(donor_sex=v),
    "disease": lambda v: Q(donor_disease_state=v),
    "reconstruction": lambda v: Q(nr_reconstruction_type=v),
    "models": lambda v: {
        "glif": Q(m_glif__gt=0),
        "perisomatic": Q(m_biophys_perisomatic__gt=0),
        "all-active": Q(m_biophys_all_active__gt=0),
    }[v],
}


def oracle_condition(filters: dict[str, list[str]]) -> Q:
    """OR within a facet, AND across facets."""
    condition = Q()
    for key, values in filters.items():
        any_value = Q()
        for value in values:
            any_value |= ORACLE[key](value)
        condition &= any_value
    return condition


def oracle_count(filters: dict[str, list[str]]) -> int:
    """How many cells match, straight from the ORM."""
    return ApiCellTypesSpecimenDetail.objects.filter(oracle_condition(filters)).count()


FACET_VALUE = re.compile(r'data-value="([^"]*)" data-count="(\d+)"')
FACET_SECTION = re.compile(r'<section class="facet" data-facet="(\w+)">(.*?)</section>', re.S)


def shown_counts(html: str) -> dict[str, dict[str, int]]:
    """The counts the page shows: facet key -> value -> count."""
    return {
        key: {value: int(count) for value, count in FACET_VALUE.findall(body)}
        for key, body in FACET_SECTION.findall(html)
    }


def shown_total(html: str) -> int:
    return int(re.search(r'data-total="(\d+)"', html).group(1))


def shown_specimen_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-specimen-id="(\d+)"', html)]


class Page:
    """What a rendered search page shows, read back from its HTML."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.counts = shown_counts(html)
        self.total = shown_total(html)
        self.specimen_ids = shown_specimen_ids(html)


@pytest.fixture
def search_page(client):
    """GET a search URL and read back what it shows."""

    def get(url: str) -> Page:
        response = client.get(url)
        assert response.status_code == 200, url
        return Page(response.content.decode())

    return get


@pytest.fixture
def oracle():
    return oracle_count


@pytest.fixture
def oracle_q():
    return oracle_condition


@pytest.fixture
def htmx_client(client):
    """The test client sending the headers htmx sends for a swap."""
    client.defaults.update({"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "search-body"})
    return client
