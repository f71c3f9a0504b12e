"""The cell search page (one view, two renderings: the page, or its #search-body fragment for htmx) and downloads."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from urllib.parse import urlencode

import orjson
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from celltypes.atlas.selectors.morphology import specimens_with_held_swc
from celltypes.atlas.selectors.search import ALLEN_FIELDS, COLUMNS, cell_rows, cell_search, facet_counts
from celltypes.web.htmx import HtmxHttpRequest, is_partial, vary_on_htmx
from celltypes.web.search_page import active_filters, facet_groups, search_links
from celltypes.web.search_params import SearchParams


@require_GET
def cell_search_page(request: HtmxHttpRequest) -> HttpResponse:
    params = SearchParams.from_query(request.GET)
    counts = facet_counts(filters=params.filters, q=params.q)
    page = cell_search(filters=params.filters, q=params.q, sort=params.order, page=params.page)
    partial = is_partial(request)
    # The cards show the XY preview of cells whose SWC is held (one query for the page, then a stat per file).
    with_swc = specimens_with_held_swc(cell.specimen_id for cell in page.cells) if params.view == "cards" else set()
    context = {
        "params": params,
        "page": page,
        "with_swc": with_swc,
        "facets": facet_groups(params, counts),
        "chips": active_filters(params),
        "links": search_links(params, page),
        "columns": COLUMNS,
        "query": params.querystring(),
        "back_param": urlencode({"back": params.querystring()}),
        "search_url": reverse("web:cell_search"),
    }
    template = "web/search.html#search-body" if partial else "web/search.html"
    return vary_on_htmx(render(request, template, context), partial=partial)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(params: SearchParams) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([column for _, column in ALLEN_FIELDS])
    for row in cell_rows(filters=params.filters, q=params.q):
        yield writer.writerow(["" if value is None else value for value in row])


def _json_chunks(params: SearchParams) -> Iterator[bytes]:
    columns = [column for _, column in ALLEN_FIELDS]
    yield b"["
    for number, row in enumerate(cell_rows(filters=params.filters, q=params.q)):
        yield (b",\n" if number else b"\n") + orjson.dumps(dict(zip(columns, row, strict=True)))
    yield b"\n]\n"


@require_GET
def cell_download(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    """Exactly the filtered cells, all of Allen's 54 columns under Allen's names; nulls empty (CSV) or null (JSON)."""
    params = SearchParams.from_query(request.GET)
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(params), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json_chunks(params), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="cells.{fmt}"'
    return response
