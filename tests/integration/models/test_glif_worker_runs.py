"""Long GLIF runs from the models tab: over CELLTYPES_GLIF_INLINE_MAX_STEPS steps they go to the worker (queued
once by registered name, progress estimated from the start and the expected time), their plot is cached by
(model, stimulus, dt), and the same URL answers the same run from the cache."""

import time

import pytest

from celltypes.atlas.selectors.models import held_model_get
from celltypes.atlas.services import simulations

pytestmark = pytest.mark.django_db

CELL = 464198958
GLIF3 = 566291897
URL = f"/cell/{CELL}/models/{GLIF3}/run.json"
STEP = {"stim": "step", "amp": "100", "start": "0.1", "dur": "1", "total": "1.3"}  # 26,000 steps at 50 kHz


@pytest.fixture
def small_inline_limit(settings):
    settings.CELLTYPES_GLIF_INLINE_MAX_STEPS = 10_000


@pytest.fixture
def queue(monkeypatch, settings, small_inline_limit):
    """A worker that is never reached: record what is queued, and answer the task state the test sets."""
    from celery import current_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple] = []
    state = {"value": ("PENDING", None)}
    task = current_app.tasks[simulations.GLIF_RUN_TASK]
    monkeypatch.setattr(task, "apply_async", lambda args, task_id: sent.append((tuple(args), task_id)))
    monkeypatch.setattr(simulations, "_task_state", lambda task_id: state["value"])
    return sent, state


def test_a_short_glif_run_stays_in_the_request(client, settings):
    settings.CELLTYPES_GLIF_INLINE_MAX_STEPS = 26_000
    answer = client.get(URL, STEP).json()
    assert answer["state"] == "done" and answer["spike_count"] == 45 and "on_worker" not in answer


def test_a_long_glif_run_is_queued_once_by_name_and_reports_progress(client, queue):
    sent, state = queue
    query = STEP | {"amp": "101"}  # a stimulus no other test runs, so nothing is cached
    answer = client.get(URL, query).json()
    assert (answer["state"], answer["progress"]) == ("queued", 0.0)
    ((model_id, task_query), task_id) = sent[0]
    assert model_id == GLIF3 and task_query["amp"] == "101" and task_query["dt"] == "5e-05"
    assert task_id.startswith(f"glif-{GLIF3}-")
    state["value"] = ("PROGRESS", {"started": time.time() - 1.0, "expected_s": 4.0})
    answer = client.get(URL, query).json()
    assert answer["state"] == "running" and 0.24 <= answer["progress"] <= 0.3
    assert len(sent) == 1  # not queued again while it runs
    state["value"] = ("PROGRESS", {"started": time.time() - 100.0, "expected_s": 4.0})
    assert client.get(URL, query).json()["progress"] == 0.95  # an estimate never claims to be done


def test_a_long_glif_run_on_the_worker_is_cached_and_equals_the_inline_run(client, eager_celery, small_inline_limit):
    from tests.integration.models.conftest import clear_model_cache

    clear_model_cache(GLIF3)
    worker = client.get(URL, STEP).json()
    assert worker["state"] == "done" and worker["on_worker"] is True
    assert worker["spike_count"] == 45  # as the inline run of the same stimulus (test_models_tab)
    held = held_model_get(model_id=GLIF3)
    spec = simulations.stimulus_spec_from_query(STEP, [], max_seconds=simulations.GLIF_MAX_SECONDS)
    assert simulations.glif_result_path(held, spec, 5e-5).is_file()
    inline = simulations.glif_run(held, spec)
    assert worker["spike_times"] == inline["spike_times"] and worker["v"] == inline["v"]
    assert client.get(URL, STEP).json() == worker  # the same URL: the same plot, from the cache


def test_runs_beyond_the_workers_limit_are_refused_naming_it(client, queue):
    response = client.get(URL, {"total": "20", "dur": "1", "dt": "1e-6"})
    assert response.status_code == 400
    assert "runs here stop at 5000000 steps" in response.json()["error"]
