from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from celltypes.atlas.selectors.summary import atlas_summary_get


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"summary": atlas_summary_get()})
