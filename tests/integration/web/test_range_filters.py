"""Numeric range filters of the cell search (range=<key>:<low>:<high>), against the real demo set."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db.models import Q

from celltypes.atlas.facets import FACETS, RANGE_FILTERS, RANGE_FILTERS_BY_KEY
from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.atlas.selectors.search import HISTOGRAM_BINS, histograms
from celltypes.atlas.vocabulary import EPHYS_FEATURE_LABELS, MORPHOLOGY_FEATURE_LABELS
from celltypes.web.search_params import SearchParams

pytestmark = pytest.mark.django_db

CELLS = ApiCellTypesSpecimenDetail.objects
RI_100_300 = Q(ef_ri__gte=100, ef_ri__lte=300)


def _download(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def test_range_filters_are_defined_once_with_the_vocabulary_labels():
    assert RANGE_FILTERS_BY_KEY["ri"].label == EPHYS_FEATURE_LABELS["ri"].label
    assert RANGE_FILTERS_BY_KEY["ri"].unit == "MΩ"
    assert RANGE_FILTERS_BY_KEY["max_distance"].label == MORPHOLOGY_FEATURE_LABELS["max_euclidean_distance"].label
    fields = {f.name for f in ApiCellTypesSpecimenDetail._meta.concrete_fields}
    assert all(r.field in fields for r in RANGE_FILTERS)
    assert not {r.key for r in RANGE_FILTERS} & {f.key for f in FACETS}


def test_a_range_filters_the_cells_and_the_facet_counts(search_page):
    page = search_page("/cells/?range=ri:100:300")
    assert page.total == CELLS.filter(RI_100_300).count() > 0
    human = CELLS.filter(RI_100_300, donor_species__iexact="Homo sapiens").count()
    assert page.counts["species"]["human"] == human
    # Combined with a facet.
    page = search_page("/cells/?species=human&range=ri:100:300&range=tau::20")
    expected = CELLS.filter(RI_100_300, ef_tau__lte=20, donor_species__iexact="Homo sapiens").count()
    assert page.total == expected
    assert 'data-range="ri"' in page.html and "100–300 MΩ" in page.html  # the histogram panel and the chip
    assert 'data-range="tau"' in page.html and "≤ 20.0 ms" in page.html


def test_the_histogram_follows_the_facets_and_the_other_ranges_not_its_own():
    params = SearchParams.from_query({"species": "human", "range": ["ri:100:300", "tau"]})
    found = histograms(keys=list(params.ranges), filters=params.filters, ranges=params.bounded_ranges)
    human = Q(donor_species__iexact="Homo sapiens")
    # Ri's own range does not narrow Ri's histogram; the species does.
    assert found["ri"].total == CELLS.filter(human, ef_ri__isnull=False).count()
    assert len(found["ri"].counts) == HISTOGRAM_BINS
    # Tau's histogram follows the Ri range and the species.
    assert found["tau"].total == CELLS.filter(human, RI_100_300, ef_tau__isnull=False).count()
    # The extent is the whole table's, so the axis does not move with the filters.
    values = [v for v in CELLS.values_list("ef_ri", flat=True) if v is not None]
    assert (found["ri"].low, found["ri"].high) == (min(values), max(values))
    # Each bin holds the cells between its edges.
    ri = found["ri"]
    first = CELLS.filter(human, ef_ri__gte=ri.low, ef_ri__lt=ri.low + ri.width).count()
    assert ri.counts[0] == first


def test_downloads_hold_the_range_filtered_cells(client):
    rows = list(csv.reader(io.StringIO(_download(client, "/cells/download.csv?range=ri:100:300&dendrite=spiny"))))
    expected = CELLS.filter(RI_100_300, tag_dendrite_type="spiny").count()
    assert len(rows) - 1 == expected
    records = json.loads(_download(client, "/cells/download.json?range=ri:100:300&dendrite=spiny"))
    assert len(records) == expected
    assert all(100 <= r["ef__ri"] <= 300 for r in records)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("range=ri:300:100", {"ri": (100.0, 300.0)}),  # reversed bounds are swapped
        ("range=ri:abc:nan", {"ri": (None, None)}),
        ("range=ri:inf:", {"ri": (None, None)}),
        ("range=nope:1:2", {}),
        ("range=ri", {"ri": (None, None)}),
        ("ri_min=100&ri_max=", {"ri": (100.0, None)}),
        ("range=ri:1:2&ri_min=5", {"ri": (5.0, None)}),
    ],
)
def test_range_words_are_parsed_and_bad_ones_dropped(query, expected):
    from django.http import QueryDict

    assert SearchParams.from_query(QueryDict(query)).ranges == expected


def test_bad_ranges_never_fail(client):
    for query in ("range=ri:1e999:", "range=" + "x" * 3000, "range=ri:%00:1", "range=:::", "range=tau:-5:-1e308"):
        assert client.get(f"/cells/?{query}").status_code == 200, query


def test_the_plain_bounds_form_redirects_to_the_canonical_url(client):
    response = client.get("/cells/?species=human&ri_min=100&ri_max=300")
    assert response.status_code == 302
    assert response["Location"] == "/cells/?species=human&range=ri%3A100%3A300"
    htmx = client.get("/cells/?ri_min=100", HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and htmx["HX-Push-Url"] == "/cells/?range=ri%3A100%3A"


def test_ranges_keep_the_query_count_constant(client, django_assert_num_queries):
    # Facets (1 + one per data-driven facet) + count + page, and for the histograms: extents + one per feature.
    budget = 2 + 1 + sum(1 for facet in FACETS if facet.is_dynamic)
    with django_assert_num_queries(budget + 1 + 2):
        client.get("/cells/?species=human&range=ri:100:300&range=tau::20&view=table")
    with django_assert_num_queries(budget + 1 + 4):
        client.get("/cells/?range=ri:100:300&range=tau::20&range=vrest&range=stems:2:&view=table")


def test_parcoords_payload_holds_the_facet_filtered_cells_on_allens_axes_under_1_mb(client):
    response = client.get("/cells/parcoords.json")
    assert response.status_code == 200
    assert len(response.content) < 1_000_000  # all 2,333 cells on the 16 default axes
    data = json.loads(response.content)
    assert [a["key"] for a in data["axes"]] == [r.key for r in RANGE_FILTERS if r.allen_axis]
    assert len(data["axes"]) == 16
    assert len(data["columns"]["specimen_id"]) == CELLS.count() == 2333
    # Ranges are brushes, not filters, of this view; facets filter it.
    data = json.loads(client.get("/cells/parcoords.json?species=human&range=ri:100:300&axes=ri,tau").content)
    assert [a["key"] for a in data["axes"]] == ["ri", "tau"]
    assert data["axes"][0]["low"] == 100 and data["axes"][0]["high"] == 300
    human = CELLS.filter(donor_species__iexact="Homo sapiens").order_by("specimen_id")
    assert data["columns"]["specimen_id"] == list(human.values_list("specimen_id", flat=True))
    ri = list(human.values_list("ef_ri", flat=True))
    assert data["columns"]["ri"] == [None if v is None else round(v, 1) for v in ri]
    assert client.get("/cells/parcoords.json?species=mice").status_code == 400


def test_parcoords_view_lists_the_axes_and_keeps_them_in_the_url(search_page):
    page = search_page("/cells/?view=parcoords&axes=ri,tau,stems")
    assert 'data-parcoords data-url="/cells/parcoords.json?view=parcoords&amp;axes=ri%2Ctau%2Cstems"' in page.html
    assert 'data-axis="stems"' in page.html and 'aria-pressed="true"' in page.html
    assert page.total == 2333
