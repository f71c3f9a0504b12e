"""Biophysical runs from the models tab: queued once on the worker, progress while it runs, cached results,
and one real NEURON run of a perisomatic demo model end to end through the Celery task (eager)."""

import pytest

from celltypes.atlas.selectors.models import held_model_get
from celltypes.atlas.services import simulations
from celltypes.atlas.services.simulations import StimulusSpec

pytestmark = pytest.mark.django_db

CELL = 464198958
PERISOMATIC = 472450023
SHORT_STEP = {"stim": "step", "amp": "300", "start": "0.02", "dur": "0.1", "total": "0.15"}


@pytest.fixture
def queue(monkeypatch, settings):
    """A worker that is never reached: record what is queued, and answer the task state the test sets."""
    from celery import current_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple] = []
    state = {"value": ("PENDING", None)}
    task = current_app.tasks[simulations.BIOPHYSICAL_RUN_TASK]
    monkeypatch.setattr(task, "apply_async", lambda args, task_id: sent.append((tuple(args), task_id)))
    monkeypatch.setattr(simulations, "_task_state", lambda task_id: state["value"])
    monkeypatch.setattr(simulations, "biophysical_unavailable_reason", lambda: None)
    return sent, state


def test_a_biophysical_run_is_queued_once_and_reports_progress(client, queue):
    sent, state = queue
    url = f"/cell/{CELL}/models/{PERISOMATIC}/run.json"
    query = SHORT_STEP | {"amp": "123"}  # a stimulus no other test runs, so nothing is cached
    answer = client.get(url, query).json()
    assert (answer["state"], answer["progress"]) == ("queued", 0.0)
    assert len(sent) == 1
    (model_id, stimulus_query), task_id = sent[0]
    assert model_id == PERISOMATIC and stimulus_query["amp"] == "123"
    assert task_id.startswith(f"biophys-{PERISOMATIC}-")
    state["value"] = ("PROGRESS", {"fraction": 0.4})
    answer = client.get(url, query).json()
    assert (answer["state"], answer["progress"]) == ("running", 0.4)
    assert len(sent) == 1  # not queued again while the first is in flight
    state["value"] = ("FAILURE", RuntimeError("NEURON run failed (exit -9): killed"))
    assert client.get(url, query).json()["error"] == "NEURON run failed (exit -9): killed"


def test_a_biophysical_run_of_a_model_without_its_reconstruction_says_so(client, queue):
    # perisomatic 472451419 was fitted on reconstruction 491459171, whose SWC this copy does not hold
    answer = client.get("/cell/386049446/models/472451419/run.json", SHORT_STEP).json()
    assert answer["state"] == "unavailable"
    assert "reconstruction model 472451419 was fitted on is not held" in answer["error"]


@pytest.mark.slow
def test_perisomatic_run_end_to_end_through_the_task_then_from_the_cache(client, eager_celery):
    if simulations.biophysical_unavailable_reason():
        pytest.skip(simulations.biophysical_unavailable_reason())
    url = f"/cell/{CELL}/models/{PERISOMATIC}/run.json"
    run = client.get(url, SHORT_STEP).json()
    assert run["state"] == "done", run
    assert run["spike_count"] == 12  # 300 pA for 100 ms
    assert all(0.02 <= t <= 0.125 for t in run["spike_times"])
    assert max(run["i"]) == 300.0 and len(run["t"]) == len(run["v"])
    held = held_model_get(model_id=PERISOMATIC)
    spec = StimulusSpec("step", 300.0, 0.02, 0.1, 0.15)
    cached = simulations.biophysical_result_path(PERISOMATIC, simulations.biophysical_stimulus(held, spec))
    assert cached.is_file() and cached.parent.name == str(PERISOMATIC)
    again = client.get(url, SHORT_STEP).json()
    assert again["spike_times"] == run["spike_times"]

    progress: list[float] = []
    rest = StimulusSpec("step", 0.0, 0.02, 0.05, 0.1)
    path = simulations.biophysical_run(held, rest, on_progress=progress.append)
    assert progress and progress == sorted(progress) and progress[-1] >= 0.9
    assert simulations.biophysical_payload(held, rest, path)["spike_count"] == 0
