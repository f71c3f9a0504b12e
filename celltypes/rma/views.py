"""HTTP routes of Allen's API. Thin: parse the request, run the engine, render.

RmaError (the query's fault, or its size past a limit) -> HTTP 400 envelope; anything else -> 500 envelope, logged.
"""

import logging
import re
from dataclasses import replace

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from celltypes.atlas.models import NeuronalModel, Specimen, WellKnownFile
from celltypes.atlas.services.model_zips import ModelZipError, neuronal_model_zip
from celltypes.atlas.services.versions import atlas_version_get
from celltypes.rma import limits, response_cache
from celltypes.rma.downloads import FileUnavailable, file_response, well_known_file_source
from celltypes.rma.engine import run_query
from celltypes.rma.errors import RmaError
from celltypes.rma.parser import parse_params, to_text
from celltypes.rma.renderers import csv as csv_renderer
from celltypes.rma.renderers import json as json_renderer
from celltypes.rma.renderers import xml as xml_renderer
from celltypes.rma.schema import describe, model_named, schema
from celltypes.rma.syntax import Filter, Op, Query, Value

log = logging.getLogger(__name__)
FORMATS = {"json": "application/json", "xml": "application/xml", "csv": "text/csv"}
SERVER_FAULT = "the server failed to answer this query (its fault, not the query's; the error is logged)"


def error_response(fmt: str, message: str, status: int = 400) -> HttpResponse:
    if fmt == "xml":
        body = xml_renderer.document(
            success=False, start_row=0, num_rows=0, total_rows=0, wrapper="", element="", message=message
        )
        return HttpResponse(body, status=status, content_type=FORMATS["xml"])
    return HttpResponse(json_renderer.error(message), status=status, content_type=FORMATS["json"])


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key) for key in request.GET}


def _respond(request: HttpRequest, query: Query, fmt: str) -> HttpResponse:
    """Answer from the response cache when the same query was answered at the same atlas version."""
    version = atlas_version_get()
    key = (fmt, to_text(query), request.GET.get("filename"), version)
    cached = response_cache.get(key)
    if cached is None:
        response = _answer(request, query, fmt, version)
        if response.status_code == 200:
            response_cache.put(key, response.content, response["Content-Type"], response.get("Content-Disposition"))
        return response
    body, content_type, disposition = cached
    response = HttpResponse(body, content_type=content_type)
    if disposition:
        response["Content-Disposition"] = disposition
    return response


def _answer(request: HttpRequest, query: Query, fmt: str, version: int) -> HttpResponse:
    try:
        response = _render(request, query, fmt, version)
    except RmaError as exc:
        return error_response(fmt, str(exc))
    except Exception:
        # Not the client's doing: valid queries must work; a fault here is ours (5xx, logged with the query).
        log.exception("RMA query failed on the server: %s", to_text(query))
        return error_response(fmt, SERVER_FAULT, status=500)
    return response


def _render(request: HttpRequest, query: Query, fmt: str, version: int) -> HttpResponse:
    result = run_query(query, json_version=version if fmt == "json" else None)
    plan = result.plan
    extra = {}
    if plan.debug:  # the SQL only in DEBUG: it shows the schema and the plan to anyone asking
        extra["debug"] = {"query": to_text(query), **({"sql": str(plan.queryset.query)} if settings.DEBUG else {})}
    if fmt == "json":
        body = json_renderer.envelope(
            success=True,
            start_row=result.start_row,
            num_rows=result.num_rows,
            total_rows=result.total_rows,
            msg=result.records,
            **extra,
        )
        response = HttpResponse(body, content_type=FORMATS["json"])
    elif fmt == "xml":
        body = xml_renderer.document(
            success=True,
            start_row=result.start_row,
            num_rows=result.num_rows,
            total_rows=result.total_rows,
            wrapper=plan.model.table,
            element=plan.model.element,
            records=result.records,
        )
        response = HttpResponse(body, content_type=FORMATS["xml"])
    else:
        response = HttpResponse(csv_renderer.table(result.records), content_type=FORMATS["csv"])
    limits.check_response_size(len(response.content))
    filename = request.GET.get("filename")
    if fmt == "csv" or filename:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename or "query.csv")
        response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


def _parse_and_respond(request: HttpRequest, fmt: str, model: str | None = None) -> HttpResponse:
    try:
        parsed = parse_params(_params(request), model=model)
    except RmaError as exc:
        return error_response(fmt, str(exc))
    return _respond(request, parsed, fmt)


@require_GET
def query(request: HttpRequest, fmt: str) -> HttpResponse:
    """/api/v2/data/query.<fmt>?q=model::...  (also criteria=, and legacy URL options)."""
    return _parse_and_respond(request, fmt)


@require_GET
def model_query(request: HttpRequest, model: str, fmt: str) -> HttpResponse:
    """/api/v2/data/<Model>/query.<fmt>?criteria=...&include=...&num_rows=..."""
    return _parse_and_respond(request, fmt, model=model)


@require_GET
def model_record(request: HttpRequest, model: str, pk: int, fmt: str) -> HttpResponse:
    """/api/v2/data/<Model>/<id>.<fmt>?include=..."""
    params = _params(request)
    params.pop("criteria", None)
    try:
        parsed = parse_params(params, model=model)
    except RmaError as exc:
        return error_response(fmt, str(exc))
    stage = parsed.stages[0]
    found = model_named(model)
    pk_field = found.django_model._meta.pk if found is not None else None
    pk_name = (pk_field.db_column or pk_field.attname) if pk_field is not None else "id"
    by_id = Filter(attr=pk_name, op=Op.EQ, values=(Value(str(pk)),))
    return _respond(request, Query((replace(stage, filters=(*stage.filters, by_id)),)), fmt)


@require_GET
def schema_index(request: HttpRequest) -> HttpResponse:
    """/api/v2/data.json and /api/v2/data/enumerate.json: every model's description."""
    records = [describe(model) for _, model in sorted(schema().items())]
    body = json_renderer.envelope(
        success=True, start_row=0, num_rows=len(records), total_rows=len(records), msg=records
    )
    return HttpResponse(body, content_type=FORMATS["json"])


@require_GET
def schema_model(request: HttpRequest, model: str) -> HttpResponse:
    """/api/v2/data/<Model>.json (and /describe.json)."""
    found = model_named(model)
    if found is None:
        return error_response("json", f"unknown model '{model}'")
    body = json_renderer.envelope(success=True, start_row=0, num_rows=1, total_rows=1, msg=[describe(found)])
    return HttpResponse(body, content_type=FORMATS["json"])


def well_known_file_download(request: HttpRequest, file_id: int) -> HttpResponse:
    """Raw bytes with the real file name; honours a single HTTP Range (big NWB files)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    wkf = WellKnownFile.objects.filter(id=file_id).first()
    if wkf is None:
        return error_response("json", f"no well-known file with id {file_id}", status=404)
    try:
        path, name = well_known_file_source(wkf)
    except FileUnavailable as exc:
        if _prefers_html(request):  # a person following a link: a page that says so, not an API envelope
            return _file_unavailable_page(request, wkf, str(exc), exc.status)
        return _unavailable(exc)
    return file_response(request, path, name)


def _unavailable(exc: FileUnavailable) -> HttpResponse:
    response = error_response("json", str(exc), status=exc.status)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def _prefers_html(request: HttpRequest) -> bool:
    """A browser (Accept naming text/html before JSON); `*/*` alone, as scripts send, keeps the JSON envelope."""
    return request.get_preferred_type(["application/json", "text/html"]) == "text/html"


def _file_unavailable_page(request: HttpRequest, wkf: WellKnownFile, reason: str, status: int) -> HttpResponse:
    specimen = Specimen.objects.filter(ephys_result_id=wkf.ephys_result_id).first() if wkf.ephys_result_id else None
    context = {"file": wkf, "reason": reason, "specimen": specimen}
    return render(request, "web/file_unavailable.html", context, status=status)


@require_GET
def neuronal_model_download(request: HttpRequest, model_id: int) -> HttpResponse:
    model = NeuronalModel.objects.select_related("neuronal_model_template", "specimen").filter(id=model_id).first()
    if model is None:
        return error_response("json", f"no neuronal model with id {model_id}", status=404)
    try:
        data, name = neuronal_model_zip(model, file_path=lambda wkf: well_known_file_source(wkf)[0])
    except FileUnavailable as exc:
        return _unavailable(exc)
    except ModelZipError as exc:
        return error_response("json", str(exc), status=404)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response
