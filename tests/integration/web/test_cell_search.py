"""The cell search page, its facet counts and its downloads, against the real demo set."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.db.models import Q

from celltypes.atlas.facets import FACETS
from celltypes.atlas.models import ApiCellTypesSpecimenDetail
from celltypes.atlas.selectors.search import cell_search, facet_counts
from celltypes.web.search_params import SearchParams

pytestmark = pytest.mark.django_db

ALLEN_COLUMNS = [f.column for f in ApiCellTypesSpecimenDetail._meta.concrete_fields]


def test_search_page_lists_every_cell_without_filters(search_page):
    page = search_page("/cells/")
    assert page.total == 2333
    assert len(page.specimen_ids) == 50
    assert page.counts["species"] == {"mouse": 1920, "human": 413}


def test_search_species_human_finds_413(search_page):
    page = search_page("/cells/?species=human")
    assert page.total == 413
    assert set(page.specimen_ids) <= set(
        ApiCellTypesSpecimenDetail.objects.filter(donor_species="Homo Sapiens").values_list("specimen_id", flat=True)
    )


def test_search_human_with_epilepsy_finds_350(search_page):
    assert search_page("/cells/?species=human&disease=epilepsy").total == 350


def test_facet_counts_dendrite_type_without_filters(search_page):
    counts = search_page("/cells/").counts
    assert counts["dendrite"] == {"spiny": 1213, "aspiny": 1000, "sparsely spiny": 120}
    assert counts["reconstruction"] == {"full": 367, "dendrite-only": 300}
    assert counts["models"] == {"glif": 1218, "perisomatic": 238, "all-active": 107}
    assert counts["apical"] == {"intact": 817, "truncated": 391, "NA": 1125}


def test_facet_counts_of_the_active_facet_ignore_its_own_filter(search_page):
    """Standard faceted search: picking Human leaves Mouse's count as it would be if it were picked too."""
    counts = search_page("/cells/?species=human&dendrite=spiny").counts
    assert counts["species"] == {"mouse": 1213 - 321, "human": 321}
    assert counts["dendrite"] == {"spiny": 321, "aspiny": 79, "sparsely spiny": 13}


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"species": ["human"]},
        {"dendrite": ["aspiny"], "models": ["glif"]},
        {"area": ["VISp"], "layer": ["4", "5"], "reconstruction": ["full"]},
        {"species": ["mouse"], "line": ["Sst-IRES-Cre", "Pvalb-IRES-Cre"], "apical": ["NA"]},
        {"species": ["human"], "sex": ["Female"], "disease": ["epilepsy"], "models": ["perisomatic", "all-active"]},
    ],
    ids=["none", "human", "aspiny-glif", "visp-l4-l5-full", "mouse-two-lines", "human-female-epilepsy-models"],
)
def test_every_facet_count_equals_a_direct_orm_count(search_page, oracle, oracle_q, filters):
    query = "&".join(f"{key}={value}" for key, values in filters.items() for value in values)
    page = search_page(f"/cells/?{query}")
    assert page.total == oracle(filters)
    for facet in FACETS:
        others = {k: v for k, v in filters.items() if k != facet.key}
        for value, shown in page.counts[facet.key].items():
            assert shown == oracle({**others, facet.key: [value]}), (facet.key, value)
    # Every data-driven value that matches a cell is offered.
    for facet in (f for f in FACETS if f.is_dynamic):
        others = {k: v for k, v in filters.items() if k != facet.key}
        cells = ApiCellTypesSpecimenDetail.objects.filter(oracle_q(others))
        stored = set(cells.exclude(**{f"{facet.field}__isnull": True}).values_list(facet.field, flat=True))
        assert {v for v, n in page.counts[facet.key].items() if n} == stored - {""}, facet.key


def test_several_values_of_one_facet_are_ored_and_facets_are_anded(search_page, oracle):
    assert search_page("/cells/?species=human&species=mouse").total == 2333
    assert search_page("/cells/?dendrite=spiny&dendrite=aspiny").total == 2213
    both = search_page("/cells/?dendrite=spiny&reconstruction=full")
    assert both.total == oracle({"dendrite": ["spiny"], "reconstruction": ["full"]})
    assert 0 < both.total < 367


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("313862022", Q(specimen_id=313862022)),
        ("Scnn1a", Q(line_name__icontains="Scnn1a") | Q(specimen_name__icontains="Scnn1a")),
        ("VISpm", Q(structure_parent_acronym="VISpm") | Q(structure_acronym="VISpm")),
        ("temporal gyrus", Q(structure_name__icontains="temporal") & Q(structure_name__icontains="gyrus")),
        ("H16.03", Q(specimen_name__icontains="H16.03")),
    ],
    ids=["specimen-id", "line", "area-acronym", "area-name", "specimen-name"],
)
def test_free_text_search_matches_name_line_and_area(search_page, q, expected):
    page = search_page(f"/cells/?q={q}")
    assert page.total == ApiCellTypesSpecimenDetail.objects.filter(expected).count()
    assert page.total > 0


def test_free_text_combines_with_facets(search_page):
    page = search_page("/cells/?q=Sst&dendrite=aspiny")
    expected = ApiCellTypesSpecimenDetail.objects.filter(
        Q(line_name__icontains="Sst") | Q(specimen_name__icontains="Sst"), tag_dendrite_type="aspiny"
    ).count()
    assert page.total == expected
    assert (
        page.counts["dendrite"]["spiny"]
        == ApiCellTypesSpecimenDetail.objects.filter(
            Q(line_name__icontains="Sst") | Q(specimen_name__icontains="Sst"), tag_dendrite_type="spiny"
        ).count()
    )


def test_results_are_paged_fifty_at_a_time(search_page):
    first = search_page("/cells/?species=human")
    second = search_page("/cells/?species=human&page=2")
    last = search_page("/cells/?species=human&page=9")
    assert len(first.specimen_ids) == len(second.specimen_ids) == 50
    assert not set(first.specimen_ids) & set(second.specimen_ids)
    assert len(last.specimen_ids) == 413 - 8 * 50
    assert "page 9 of 9" in last.html


def test_table_view_sorts_by_an_ephys_feature_both_ways(search_page):
    tau = dict(ApiCellTypesSpecimenDetail.objects.values_list("specimen_id", "ef_tau"))
    down = search_page("/cells/?view=table&sort=tau&dir=desc")
    up = search_page("/cells/?view=table&sort=tau")
    assert "<table" in down.html and 'data-sort="rheobase"' in down.html
    values = [tau[i] for i in down.specimen_ids]
    assert values == sorted(values, reverse=True)
    assert values[0] == max(v for v in tau.values() if v is not None)
    assert [tau[i] for i in up.specimen_ids] == sorted(tau[i] for i in up.specimen_ids)


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-3",
        "page=999999999999999999999",
        "sort=evil&dir=sideways",
        "sort=specimen_name;drop table x",
        "view=<script>",
        "species=martian",
        "models=everything",
        "unknown=1",
        "q=" + "x" * 5000,
        "q=%00%27%22",
        "area=VIS%00p&line=%00",
        "q=%C2%B2%C2%B3",
        "line=" + "L" * 500,
    ],
    ids=lambda q: q[:24],
)
def test_bad_query_parameters_never_fail(client, query):
    response = client.get(f"/cells/?{query}")
    assert response.status_code == 200
    assert b"<script>" not in response.content.split(b"<body")[1].replace(b'<script src="', b"")


def test_bad_parameters_are_ignored(search_page):
    assert search_page("/cells/?page=abc&sort=evil&dir=sideways&view=x").total == 2333


def test_unknown_value_of_a_fixed_facet_matches_nothing_with_a_warning_and_is_never_downloaded(search_page, client):
    page = search_page("/cells/?species=martian")
    assert page.total == 0
    assert "not a known value (one of: mouse, human)" in page.html
    assert "download.csv" not in page.html and "No download while a filter value is unknown" in page.html
    response = client.get("/cells/download.csv?species=martian&dendrite=spiny")
    assert response.status_code == 400
    assert b"species=martian" in response.content
    assert client.get("/cells/download.json?models=everything").status_code == 400


def test_a_page_past_the_end_shows_the_last_page(search_page):
    page = search_page("/cells/?species=human&page=500")
    assert "page 9 of 9" in page.html
    assert len(page.specimen_ids) == 13


def test_unknown_value_of_a_data_driven_facet_matches_nothing_and_can_be_removed(search_page):
    page = search_page("/cells/?area=NOPE")
    assert page.total == 0
    assert 'data-value="NOPE" data-count="0"' in page.html
    assert "No cells match" in page.html


def test_htmx_gets_only_the_search_body_fragment(htmx_client):
    response = htmx_client.get("/cells/?species=human")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="search-body"')
    assert "<html" not in html
    assert 'data-total="413"' in html
    assert "HX-Request" in response["Vary"]
    assert "no-store" in response["Cache-Control"]


def test_htmx_history_restore_gets_the_whole_page(htmx_client):
    response = htmx_client.get("/cells/?species=human", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert b"<html" in response.content
    assert b'data-total="413"' in response.content


def test_links_work_as_plain_links_without_javascript(client):
    html = client.get("/cells/?species=human").content.decode()
    # Picking a second facet keeps the first; the facet link toggles just its own value.
    assert 'href="/cells/?species=human&amp;dendrite=spiny"' in html
    assert 'href="/cells/?dendrite=spiny"' not in html
    assert 'href="/cells/?"' in html  # un-picking Human
    # The text search form carries the active filters as form fields.
    assert '<input type="hidden" form="search-form" name="species" value="human">' in html


def _download(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("", {}),
        ("species=human&disease=epilepsy", {"species": ["human"], "disease": ["epilepsy"]}),
        (
            "dendrite=aspiny&models=glif&layer=4&layer=5",
            {"dendrite": ["aspiny"], "models": ["glif"], "layer": ["4", "5"]},
        ),
    ],
    ids=["all", "human-epilepsy", "aspiny-glif-l4-l5"],
)
def test_downloads_hold_exactly_the_filtered_cells(client, oracle, query, filters):
    expected = oracle(filters)
    rows = list(csv.reader(io.StringIO(_download(client, f"/cells/download.csv?{query}"))))
    assert rows[0] == ALLEN_COLUMNS
    assert len(rows[0]) == 54
    assert len(rows) - 1 == expected
    records = json.loads(_download(client, f"/cells/download.json?{query}"))
    assert len(records) == expected
    assert list(records[0]) == ALLEN_COLUMNS
    assert [r["specimen__id"] for r in records] == [int(r[1]) for r in rows[1:]]


def test_downloads_write_nulls_as_empty_and_null_never_nan(client):
    text = _download(client, "/cells/download.csv?species=human")
    assert "nan" not in text.lower().replace("nanp", "")  # no NaN cell anywhere
    rows = list(csv.DictReader(io.StringIO(text)))
    assert all(row["line_name"] == "" for row in rows)  # human cells have no line
    records = json.loads(_download(client, "/cells/download.json?species=human"))
    assert all(record["line_name"] is None for record in records)
    assert "NaN" not in _download(client, "/cells/download.json")


def test_download_links_carry_the_current_filters(client):
    html = client.get("/cells/?species=human&dendrite=spiny&page=2").content.decode()
    assert 'href="/cells/download.csv?species=human&amp;dendrite=spiny&amp;page=2"' in html


def test_search_page_takes_a_constant_number_of_queries(
    client, django_assert_max_num_queries, django_assert_num_queries
):
    # A count and a page of results, one aggregate for the fixed-choice facets, one GROUP BY per data-driven facet;
    # the cards add one query for which of the page's cells have a held SWC (their previews) and one for which have
    # a recording held (their trace thumbnails).
    budget = 2 + 1 + sum(1 for facet in FACETS if facet.is_dynamic)
    with django_assert_max_num_queries(budget + 2):
        client.get("/cells/?species=human&dendrite=spiny&disease=epilepsy")
    for url, cards in (
        ("/cells/", True),
        ("/cells/?area=VISp&layer=4&line=Rorb-IRES2-Cre&view=table", False),
        ("/cells/?q=Sst&models=glif", True),
    ):
        with django_assert_num_queries(budget + 2 * cards):
            client.get(url)


def test_search_functions_can_be_called_without_a_request():
    params = SearchParams.from_query({"species": "human", "dendrite": ["spiny", "aspiny"]})
    counts = facet_counts(filters=params.filters, q="")
    page = cell_search(filters=params.filters, sort="-tau", page=1)
    assert counts["species"]["human"] == 400
    assert page.total == 400
    assert len(page.cells) == 50


def test_only_the_search_page_allows_eval_for_plotlys_webgl_parallel_coordinates(client):
    assert "'unsafe-eval'" in client.get("/cells/")["Content-Security-Policy"]
    for other in ("/", "/cell/313862022/", "/cell/313862022/ephys/", "/help/"):
        assert "'unsafe-eval'" not in client.get(other)["Content-Security-Policy"], other
