"""The cell page: overview, ephys, morphology and models tabs, each at its own URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from celltypes.atlas.selectors.cells import cell_get, soma_depth_get
from celltypes.atlas.selectors.ephys import cell_ephys_get
from celltypes.atlas.selectors.ephys_thumbnails import specimens_with_recording
from celltypes.atlas.selectors.images import cell_images_get
from celltypes.atlas.selectors.models import cell_models_get
from celltypes.atlas.selectors.morphology import cell_morphology_get
from celltypes.atlas.services.morphology import computed_morphology_request
from celltypes.sync.file_fetch import file_fetch_request, file_fetch_state
from celltypes.web import presenters
from celltypes.web.htmx import HtmxHttpRequest, is_partial, vary_on_htmx
from celltypes.web.search_params import SearchParams
from celltypes.web.views.ephys_api import nwb_fetch_state
from celltypes.web.views.models import models_tab

TABS = (
    ("overview", "Overview", "web:cell_detail"),
    ("ephys", "Electrophysiology", "web:cell_ephys"),
    ("morphology", "Morphology", "web:cell_morphology"),
    ("models", "Models", "web:cell_models"),
)


@require_GET
def cell_detail(request: HtmxHttpRequest, specimen_id: int, tab: str = "overview") -> HttpResponse:
    cell = cell_get(specimen_id=specimen_id)
    if cell is None:
        raise Http404(f"No cell with specimen id {specimen_id}.")
    back = back_query(request)
    context = {
        "cell": cell,
        "facts": presenters.cell_facts(cell),
        "tab": tab,
        "tabs": [(key, label, reverse(name, args=[specimen_id])) for key, label, name in TABS],
        "back": back,
        "back_url": reverse("web:cell_search") + (f"?{back}" if back else ""),
    }
    if tab == "overview":
        context["recording_held"] = bool(specimens_with_recording([specimen_id]))
    elif tab == "ephys":
        trace_url = reverse("web:cell_sweep_trace", args=[specimen_id, 0]).replace("/0.json", "/{n}.json")
        analysis_url = reverse("web:cell_sweep_analysis", args=[specimen_id, 0]).replace("/0/", "/{n}/")
        ephys = cell_ephys_get(specimen_id=specimen_id)
        context["ephys"] = presenters.ephys_tab(ephys, specimen_id, trace_url, analysis_url)
        context["nwb_fetch"] = nwb_fetch_state(ephys)
    elif tab == "morphology":
        context.update(morphology_context(cell))
    elif tab == "models":
        context["models"] = cell_models_get(specimen_id=specimen_id, row=cell.row)
        context["models_tab"] = models_tab(request, specimen_id, context["models"])
    partial = is_partial(request)
    template = "web/cell_detail.html#cell-tab" if partial else "web/cell_detail.html"
    return vary_on_htmx(render(request, template, context), partial=partial)


def morphology_context(cell: Any, *, fetch: bool = False, again: bool = False, attempt: int = 0) -> dict[str, Any]:
    """What the morphology tab (web/_cell_morphology.html) prints. When the store lacks the SWC the tab would draw,
    ``swc_fetch`` says where its fetch from the upstream stands; ``fetch`` queues that fetch (once; ``again``: anew
    after a failure), as the tab's first poll and the "try again" button do. Never writes to the database."""
    morphology = cell_morphology_get(specimen_id=cell.specimen_id)
    swc_fetch = None
    missing = morphology.missing_swc
    if missing is not None:
        if fetch:
            state = file_fetch_request(file_id=missing.pk, held=False, again=again)
            morphology = cell_morphology_get(specimen_id=cell.specimen_id)  # eager Celery: it may be held now
        else:
            state = file_fetch_state(file_id=missing.pk, held=False)
        if morphology.missing_swc is not None and morphology.missing_swc.pk == missing.pk:
            swc_fetch = presenters.SwcFetch(missing, state.state, state.message, attempt, state.retryable)
    if morphology.features_pending:  # computed for this page only: the worker stores them
        computed_morphology_request(reconstruction_id=morphology.drawn.pk)
    return {
        "morphology": presenters.morphology_tab(morphology, cell_images_get(specimen_id=cell.specimen_id)),
        "soma_depth": presenters.soma_depth(soma_depth_get(cell)),
        "swc_fetch": swc_fetch,
    }


def back_query(request: HttpRequest) -> str:
    """The search to go back to: `?back=<query>` (cleaned), else the Referer when it is our search page."""
    if "back" in request.GET:
        return SearchParams.from_query(QueryDict(request.GET["back"])).querystring()
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.path == reverse("web:cell_search") and referer.netloc in ("", request.get_host()):
        return SearchParams.from_query(QueryDict(referer.query)).querystring()
    return ""
