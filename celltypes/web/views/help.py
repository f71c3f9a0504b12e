"""The Help page (what this copy holds, how to cite Allen's data, how to point tools at it) and redirects from
Allen's own cell links, which papers and bookmarks carry."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse

from celltypes.atlas.selectors.summary import atlas_summary_get

# Allen's experiment pages (celltypes.brain-map.org/experiment/<kind>/<specimen id>) -> our cell tabs.
ALLEN_EXPERIMENT_TABS = {"electrophysiology": "web:cell_ephys", "morphology": "web:cell_morphology"}


def help_page(request: HttpRequest) -> HttpResponse:
    base_url = request.build_absolute_uri("/").rstrip("/")
    return render(request, "web/help.html", {"summary": atlas_summary_get(), "base_url": base_url})


def allen_experiment(request: HttpRequest, kind: str, specimen_id: int) -> HttpResponsePermanentRedirect:
    """/experiment/electrophysiology/<id> and /experiment/morphology/<id> -> that cell's tab (301)."""
    return HttpResponsePermanentRedirect(reverse(ALLEN_EXPERIMENT_TABS[kind], args=[specimen_id]))
