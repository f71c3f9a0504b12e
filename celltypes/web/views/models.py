"""The models tab's parts: the chosen model's panel (context for the tab) and the run endpoint the page's plot reads.

A run is named by the URL: ``/cell/<id>/models/?model=<model id>&stim=step&amp=150...`` shows it, and
``/cell/<id>/models/<model id>/run.json?stim=step&amp=150...`` answers it (GLIF: run now; biophysical: the
cached result, or the worker's progress).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.views.decorators.http import require_GET, require_POST

from celltypes.atlas.selectors.cells import cell_get
from celltypes.atlas.selectors.models import (
    ALL_ACTIVE,
    FI_STIMULUS,
    GLIF,
    PERISOMATIC,
    CellModels,
    HeldModel,
    HeldRecording,
    ProtocolSweep,
    biophysical_fit_read,
    cell_models_get,
    cell_protocol_get,
    glif_config_read,
    held_model_get,
    held_recording_get,
    kind_label,
    model_swc_path,
    published_model_metrics,
    recorded_fi_curve,
)
from celltypes.atlas.services import simulations
from celltypes.atlas.services.fi_curves import MAX_AMPLITUDES, biophysical_fi_request
from celltypes.atlas.services.model_metrics import (
    ExplainedVarianceUnavailable,
    glif_explained_variance_request,
    noise_sweeps,
)
from celltypes.atlas.services.simulations import RunRequestError, StimulusSpec
from celltypes.atlas.vocabulary import EXPLAINED_VARIANCE_GLIF_ONLY, FITTED_RECONSTRUCTION_NOT_HELD
from celltypes.science.errors import ScienceError
from celltypes.sync.model_fetch import (
    ModelFetchRefused,
    missing_models_fetch_progress,
    missing_models_fetch_request,
    upstream_configured,
)
from celltypes.sync.nwb_fetch import nwb_fetch_progress_get
from celltypes.web import presenters
from celltypes.web.htmx import is_partial

STIMULUS_PARAMS = ("stim", "amp", "start", "dur", "total", "slope", "cv", "seed", "sweep", "dt")


def _max_seconds(held: HeldModel) -> float:
    return simulations.GLIF_MAX_SECONDS if held.kind == GLIF else simulations.BIOPHYSICAL_MAX_SECONDS


def default_spec(protocol: list[ProtocolSweep], recording: HeldRecording | None = None) -> StimulusSpec:
    """The cell's Long Square sweep of median amplitude among those that made it spike (its recording, where
    the cell's NWB file is held), else a 100 pA step."""
    spiking = sorted(
        (s for s in protocol if s.stimulus_name == FI_STIMULUS and (s.num_spikes or 0) > 0),
        key=lambda s: (s.amplitude_pa, s.sweep_number),
    )
    if not spiking:
        return StimulusSpec()
    sweep = spiking[(len(spiking) - 1) // 2]
    if recording is not None and recording.held and sweep.sweep_number in recording.sweeps:
        try:
            return simulations.stimulus_spec_from_query(
                {"stim": "recorded", "sweep": str(sweep.sweep_number)},
                protocol,
                max_seconds=simulations.BIOPHYSICAL_MAX_SECONDS,
                recording=recording,
            )
        except RunRequestError:
            pass  # unreadable or too long: the rebuilt sweep
    return simulations.sweep_spec(sweep)


def _spec(
    query: dict[str, str], protocol: list[ProtocolSweep], held: HeldModel, recording: HeldRecording
) -> StimulusSpec:
    if not set(query) - {"dt"}:
        return default_spec(protocol, recording)
    return simulations.stimulus_spec_from_query(query, protocol, max_seconds=_max_seconds(held), recording=recording)


def _explained_variance_here(specimen_id: int, held: HeldModel, recording: HeldRecording) -> dict[str, Any]:
    """What the page shows for the explained variance computed here: the URL to ask, or why it is not."""
    if held.kind != GLIF:
        return {"note": f"{EXPLAINED_VARIANCE_GLIF_ONLY} (a biophysical run of the noise sweeps takes minutes)."}
    try:
        name, numbers = noise_sweeps(recording)
    except ExplainedVarianceUnavailable as reason:
        return {"note": str(reason)}
    return {
        "url": reverse("web:model_explained_variance", args=[specimen_id, held.id]),
        "what": f"{name}, sweeps {', '.join(str(n) for n in numbers)}",
    }


def _nwb_fetch(recording: HeldRecording) -> dict[str, Any] | None:
    """The ephys tab's fetch of the cell's NWB file, offered where it is recorded but not held."""
    if recording.held or recording.nwb_file is None:
        return None
    return {
        "file": recording.nwb_file,
        "progress": nwb_fetch_progress_get(file_id=recording.nwb_file.id),
        "upstream": upstream_configured(),
    }


def _sweep_options(protocol: list[ProtocolSweep], recording: HeldRecording) -> list[tuple[int, str]]:
    """(sweep number, label) for the form: the held recording's current-clamp sweeps, else the sweep table's
    square and ramp sweeps (rebuilt)."""
    amplitudes = {s.sweep_number: s.amplitude_pa for s in protocol}
    if recording.held:
        return [
            (number, f"{number}: {name}" + (f" {amplitudes[number]:.1f} pA" if number in amplitudes else ""))
            for number, name in sorted(recording.sweeps.items())
        ]
    return [(s.sweep_number, f"{s.sweep_number}: {s.stimulus_name} {s.amplitude_pa:.1f} pA") for s in protocol]


def _stimulus_query(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET[key] for key in STIMULUS_PARAMS if request.GET.get(key, "") != ""}


def models_tab(request: HttpRequest, specimen_id: int, models: CellModels) -> dict[str, Any]:
    """Context of the models tab: the selector, and for the chosen model its parameters, downloads and run."""
    protocol = cell_protocol_get(specimen_id=specimen_id)
    recording = held_recording_get(specimen_id=specimen_id)
    recorded_fi = recorded_fi_curve(protocol)
    base = reverse("web:cell_models", args=[specimen_id])
    raw = request.GET.get("model", "")
    if raw:
        held = models.get(int(raw)) if raw.isdigit() else None
        if held is None:
            raise Http404(f"Model {raw!r} is not a model of cell {specimen_id} held here.")
    else:
        held = next((m for m in models.models if m.parameters_file), None)
    selector = [
        {
            "id": m.id,
            "label": f"GLIF {m.glif_level}" if m.glif_level else kind_label(m.kind or ""),
            "template": m.template,
            "url": f"{base}?model={m.id}",
            "current": held is not None and m.id == held.id,
        }
        for m in models.models
    ]
    context: dict[str, Any] = {"selector": selector, "selected": held, "protocol": protocol, "recording": recording}
    if models.missing:
        context["fetch"] = missing_models_fetch_context(specimen_id)
    context["fi"] = {"recorded": recorded_fi, "model": None, "model_note": ""}
    if held is None:
        return context
    query = _stimulus_query(request)
    context |= {
        "kind_label": kind_label(held.kind or ""),
        "is_glif": held.kind == GLIF,
        "stimulus_kinds": {
            key: label for key, label in simulations.STIMULUS_KINDS.items() if key != "recorded" or recording.held
        },
        "sweep_options": _sweep_options(protocol, recording),
        "nwb_fetch": _nwb_fetch(recording),
        "max_seconds": _max_seconds(held),
        "inline_max_steps": simulations.glif_inline_max_steps(),
        "zip_url": reverse("model-download", args=[held.id]),
        "parameters_url": reverse("wkf-download", args=[held.parameters_file.id]) if held.parameters_file else None,
        "parameters_name": held.parameters_file.path.rsplit("/", 1)[-1] if held.parameters_file else None,
        "metrics": published_model_metrics(model_id=held.id),
        "ev": _explained_variance_here(specimen_id, held, recording),
    }
    try:
        spec = _spec(query, protocol, held, recording)
    except RunRequestError as error:
        context["run_error"] = str(error)
        spec = default_spec(protocol, recording)
    context["spec"] = spec
    run_query = spec.query() | ({"dt": query["dt"]} if "dt" in query and held.kind == GLIF else {})
    context["run_url"] = reverse("web:model_run", args=[specimen_id, held.id]) + "?" + urlencode(run_query)
    context["page_query"] = query
    if held.parameters_file is None:
        context["parameters_error"] = "This copy does not hold the model's parameter file."
        return context
    try:
        if held.kind == GLIF:
            config = glif_config_read(held)
            context["parameters"] = presenters.glif_parameter_rows(config)
            context["dt"] = float(config.dt)
            context["fi"]["model"] = simulations.glif_fi_curve(held, [a for a, _ in recorded_fi])
        elif held.kind in (PERISOMATIC, ALL_ACTIVE):
            context["general"], context["genome"] = presenters.biophysical_parameter_rows(biophysical_fit_read(held))
            context["fi"]["url"] = reverse("web:model_fi_curve", args=[specimen_id, held.id])
            context["fi"]["model_note"] = (
                f"Model: 1 s steps at up to {MAX_AMPLITUDES} of the same amplitudes, simulated on the worker."
            )
            context["biophys_unavailable"] = simulations.biophysical_unavailable_reason()
            if model_swc_path(held) is None:
                context["biophys_unavailable"] = capfirst(FITTED_RECONSTRUCTION_NOT_HELD.format(model_id=held.id)) + "."
    except (ScienceError, ValueError, OSError) as error:
        context["parameters_error"] = f"The model's parameter file cannot be read: {error}"
    return context


@require_GET
def model_run(request: HttpRequest, specimen_id: int, model_id: int) -> JsonResponse:
    """Run (GLIF) or look up / queue (biophysical) the model on the stimulus the URL names."""
    held = held_model_get(model_id=model_id)
    if held is None or held.model.specimen_id != specimen_id:
        return JsonResponse({"state": "failed", "error": f"no model {model_id} of cell {specimen_id}"}, status=404)
    if held.parameters_file is None:
        return JsonResponse({"state": "failed", "error": "this copy does not hold the model's parameters"}, status=404)
    protocol = cell_protocol_get(specimen_id=specimen_id)
    recording = held_recording_get(specimen_id=specimen_id)
    query = _stimulus_query(request)
    try:
        spec = _spec(query, protocol, held, recording)
        if held.kind == GLIF:
            config = glif_config_read(held)
            dt = simulations.glif_dt(config, query)
            payload = simulations.glif_run_request(held, spec, dt)
        else:
            payload = simulations.biophysical_run_request(held, spec)
    except RunRequestError as error:
        return JsonResponse({"state": "failed", "error": str(error)}, status=400)
    except (ScienceError, ValueError, OSError) as error:
        return JsonResponse({"state": "failed", "error": f"the model cannot be run: {error}"}, status=422)
    payload["page_url"] = reverse("web:cell_models", args=[specimen_id]) + "?" + urlencode({"model": model_id} | query)
    return JsonResponse(payload)


def _held_model_of_cell(specimen_id: int, model_id: int) -> HeldModel | None:
    """The model when it is this cell's and its parameters are held, else None (the JSON views answer 404)."""
    held = held_model_get(model_id=model_id)
    if held is None or held.model.specimen_id != specimen_id or held.parameters_file is None:
        return None
    return held


def _worker_answer(specimen_id: int, model_id: int, request_of: Callable[[Any], dict]) -> JsonResponse:
    """A worker-computed answer about a held model of this cell (``request_of(held)``), or a JSON 404."""
    held = _held_model_of_cell(specimen_id, model_id)
    if held is None:
        return JsonResponse({"state": "failed", "error": f"no held model {model_id} of cell {specimen_id}"}, status=404)
    return JsonResponse(request_of(held))


@require_GET
def model_explained_variance(request: HttpRequest, specimen_id: int, model_id: int) -> JsonResponse:
    """Allen's explained variance ratio of a GLIF model computed here (cached), the worker's progress, or why not."""
    return _worker_answer(specimen_id, model_id, glif_explained_variance_request)


# --- models Allen lists for the cell that this copy does not hold -------------------------------------------------

FETCHING_STATES = ("queued", "recorded", "retrying")


def missing_models_fetch_context(specimen_id: int, error: str | None = None) -> dict[str, Any]:
    """The fetch panel under the list of missing models: the states of the models asked for, or the offer."""
    states = missing_models_fetch_progress(specimen_id=specimen_id)
    return {
        "specimen_id": specimen_id,
        "upstream": upstream_configured(),
        "states": states,
        "polling": any(s.state in FETCHING_STATES for s in states),
        "arrived": bool(states) and all(s.state == "arrived" for s in states),
        "error": error,
    }


@require_POST
def missing_models_fetch(request: HttpRequest, specimen_id: int) -> HttpResponse:
    """Queue the sync of the cell's models this copy lacks; htmx gets the panel (polling), a form the tab."""
    cell = cell_get(specimen_id=specimen_id)
    if cell is None:
        raise Http404(f"No cell with specimen id {specimen_id}.")
    missing = cell_models_get(specimen_id=specimen_id, row=cell.row).missing
    error = None
    try:
        missing_models_fetch_request(specimen_id=specimen_id, kinds=[gap.kind for gap in missing])
    except ModelFetchRefused as refused:
        error = f"The models cannot be fetched: {refused}"
    if is_partial(request):
        return render(request, "web/_model_fetch.html", missing_models_fetch_context(specimen_id, error))
    if error:
        return HttpResponse(error, status=409, content_type="text/plain")
    return redirect("web:cell_models", specimen_id)


@require_GET
def missing_models_fetch_status(request: HttpRequest, specimen_id: int) -> HttpResponse:
    """The panel htmx polls; once every model asked for has arrived, HX-Refresh shows them in the selector."""
    context = missing_models_fetch_context(specimen_id)
    response = render(request, "web/_model_fetch.html", context)
    if context["arrived"]:
        response["HX-Refresh"] = "true"
    return response


@require_GET
def model_fi_curve(request: HttpRequest, specimen_id: int, model_id: int) -> JsonResponse:
    """A biophysical model's f-I curve: cached, the worker's progress (queued once), or why not."""
    return _worker_answer(specimen_id, model_id, biophysical_fi_request)
