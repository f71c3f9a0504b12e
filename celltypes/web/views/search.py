"""The cell search page (one view, two renderings: the page, or its #search-body fragment for htmx) and downloads."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from urllib.parse import urlencode

import orjson
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from celltypes.atlas.facets import RANGE_FILTERS_BY_KEY
from celltypes.atlas.selectors.ephys_thumbnails import specimens_with_recording
from celltypes.atlas.selectors.morphology import specimens_swc_holding
from celltypes.atlas.selectors.search import (
    ALLEN_FIELDS,
    COLUMNS,
    cell_rows,
    cell_search,
    facet_counts,
    feature_columns,
    histograms,
)
from celltypes.middleware import allows_webgl_plots
from celltypes.web.htmx import HtmxHttpRequest, is_partial, vary_on_htmx
from celltypes.web.search_page import (
    active_filters,
    axis_choices,
    facet_groups,
    range_chips,
    range_choices,
    range_panels,
    search_links,
)
from celltypes.web.search_params import SearchParams


@require_GET
@allows_webgl_plots  # the parallel-coordinates view is a plotly WebGL trace
def cell_search_page(request: HtmxHttpRequest) -> HttpResponse:
    params = SearchParams.from_query(request.GET)
    # A plain bounds form sends <key>_min/<key>_max: the address bar gets the canonical range= form instead.
    canonical = None
    if any(key.endswith(("_min", "_max")) for key in request.GET):
        canonical = f"{reverse('web:cell_search')}?{params.querystring()}"
        if not is_partial(request):
            return redirect(canonical)
    ranges = params.bounded_ranges
    counts = facet_counts(filters=params.filters, q=params.q, ranges=ranges)
    page = cell_search(filters=params.filters, q=params.q, ranges=ranges, sort=params.order, page=params.page)
    found = histograms(keys=list(params.ranges), filters=params.filters, q=params.q, ranges=ranges)
    partial = is_partial(request)
    # The cards show the XY preview of cells whose SWC is held, and say "SWC not held" for those whose SWC this
    # copy records but does not hold (one query for the page, then a stat per file) ...
    cards = params.view == "cards"
    with_swc, swc_recorded = specimens_swc_holding(cell.specimen_id for cell in page.cells) if cards else (set(), set())
    # ... and the trace thumbnail of cells whose recording is held here; the others say "no recording held".
    with_recording = specimens_with_recording(cell.specimen_id for cell in page.cells) if cards else set()
    context = {
        "params": params,
        "page": page,
        "with_swc": with_swc,
        "with_recording": with_recording,
        "swc_not_held": swc_recorded - with_swc,
        "facets": facet_groups(params, counts),
        "chips": active_filters(params, counts) + range_chips(params),
        "ranges": range_panels(params, found),
        "range_choices": range_choices(params),
        "axis_choices": axis_choices(params) if params.view == "parcoords" else [],
        "parcoords_url": f"{reverse('web:cell_parcoords')}?{params.querystring()}",
        "links": search_links(params, page),
        "columns": COLUMNS,
        "query": params.querystring(),
        "back_param": urlencode({"back": params.querystring()}),
        "search_url": reverse("web:cell_search"),
    }
    template = "web/search.html#search-body" if partial else "web/search.html"
    response = render(request, template, context)
    if canonical is not None:
        response["HX-Push-Url"] = canonical
    return vary_on_htmx(response, partial=partial)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(params: SearchParams) -> Iterator[tuple]:
    return cell_rows(filters=params.filters, q=params.q, ranges=params.bounded_ranges, sort=params.order)


def _csv_lines(params: SearchParams) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([column for _, column in ALLEN_FIELDS])
    for row in _rows(params):
        yield writer.writerow(["" if value is None else value for value in row])


def _json_chunks(params: SearchParams) -> Iterator[bytes]:
    columns = [column for _, column in ALLEN_FIELDS]
    yield b"["
    for number, row in enumerate(_rows(params)):
        yield (b",\n" if number else b"\n") + orjson.dumps(dict(zip(columns, row, strict=True)))
    yield b"\n]\n"


@require_GET
def cell_download(request: HttpRequest, fmt: str) -> HttpResponse:
    """Exactly the filtered cells in the page's order, all of Allen's 54 columns under Allen's names; nulls empty
    (CSV) or null (JSON). A filter value that is not known is refused (400), never widened to every cell."""
    params = SearchParams.from_query(request.GET)
    if unknown := params.unknown_values:
        listed = ", ".join(f"{key}={value}" for key, value in unknown)
        return HttpResponseBadRequest(
            f"Unknown filter value: {listed}. Nothing was exported; fix the filter on the search page.\n",
            content_type="text/plain; charset=utf-8",
        )
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(params), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json_chunks(params), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="cells.{fmt}"'
    return response


@require_GET
def cell_parcoords(request: HttpRequest) -> HttpResponse:
    """The parallel-coordinates view's data: the chosen axes (labels, units, extents) and, for the cells under the
    facets and the text, one column of values per axis. The ranges are not applied: the view draws them as brushes."""
    params = SearchParams.from_query(request.GET)
    if unknown := params.unknown_values:
        listed = ", ".join(f"{key}={value}" for key, value in unknown)
        return HttpResponse(
            orjson.dumps({"error": f"Unknown filter value: {listed}"}), status=400, content_type="application/json"
        )
    columns = feature_columns(keys=params.axes, filters=params.filters, q=params.q)
    axes = []
    for key in params.axes:
        range_filter = RANGE_FILTERS_BY_KEY[key]
        low, high = params.ranges.get(key, (None, None))
        axes.append(
            {
                "key": key,
                "label": range_filter.short,
                "title": range_filter.label,
                "unit": range_filter.unit,
                "digits": range_filter.digits,
                "low": low,
                "high": high,
            }
        )
    return HttpResponse(orjson.dumps({"axes": axes, "columns": columns}), content_type="application/json")
