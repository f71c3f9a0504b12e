"""The /sync/ page: the state of the newest full mirror sync, its fragment polled by htmx while a run goes on."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from celltypes.sync.progress import mirror_progress_get
from celltypes.web.htmx import is_partial, vary_on_htmx


@require_GET
def sync_status(request: HttpRequest) -> HttpResponse:
    partial = is_partial(request)
    template = "sync/_progress.html" if partial else "sync/status.html"
    return vary_on_htmx(render(request, template, {"progress": mirror_progress_get()}), partial=partial)
