"""Allen's explained variance ratio computed here from the cell's held Noise 2 repeats (a SYNTHETIC recording whose
repeats spike exactly as GLIF model 480629475 does, see conftest.held_synthetic_nwb), beside Allen's published
value; said plainly when the recordings are not held."""

import numpy as np
import pytest

from celltypes.atlas.selectors.models import glif_config_read, held_model_get
from celltypes.atlas.services import simulations
from celltypes.atlas.services.model_metrics import EXPLAINED_VARIANCE_TASK
from celltypes.science.glif import simulate
from celltypes.science.glif.explained_variance import spike_train_explained_variance
from tests.support.synthetic_recording import SYNTHETIC_CELL, SYNTHETIC_RATE, synthetic_noise_stimulus

pytestmark = pytest.mark.django_db

GLIF1 = 480629475  # Allen's published ratio 0.698; the synthetic repeats are its own spikes
GLIF3 = 566291897
PERISOMATIC = 472450023


def _ev_url(model_id):
    return f"/cell/{SYNTHETIC_CELL}/models/{model_id}/explained_variance.json"


def test_without_the_noise_recordings_the_page_says_it_is_not_computed(client):
    html = client.get(f"/cell/{SYNTHETIC_CELL}/models/", {"model": GLIF1}).content.decode()
    assert 'data-metric="explained_variance_ratio">0.698<' in html
    assert "Not computed here: the cell&#x27;s Noise 1 and Noise 2 recordings are not held" in html
    assert "data-model-ev" not in html
    assert client.get(_ev_url(GLIF1)).json()["state"] == "unavailable"
    html = client.get(f"/cell/{SYNTHETIC_CELL}/models/", {"model": PERISOMATIC}).content.decode()
    assert "Computed here for GLIF models only" in html


def test_a_model_whose_spikes_are_the_repeats_scores_one_and_another_its_own_value(
    client, held_synthetic_nwb, eager_celery
):
    html = client.get(f"/cell/{SYNTHETIC_CELL}/models/", {"model": GLIF1}).content.decode()
    assert f'data-ev-url="{_ev_url(GLIF1)}"' in html and "Noise 2, sweeps 38, 40, 42" in html
    same = client.get(_ev_url(GLIF1)).json()
    assert (same["state"], same["ratio"], same["stimulus_name"], same["sweeps"]) == (
        "done",
        1.0,
        "Noise 2",
        [38, 40, 42],
    )
    assert same["recorded_spikes"] == [len(held_synthetic_nwb["noise_model_steps"])] * 3

    other = client.get(_ev_url(GLIF3)).json()
    noise = synthetic_noise_stimulus()
    steps = simulate(glif_config_read(held_model_get(model_id=GLIF3)), noise, 1 / SYNTHETIC_RATE).spike_steps
    expected = spike_train_explained_variance(
        [held_synthetic_nwb["noise_model_steps"]] * 3, [np.asarray(steps)], steps=len(noise), dt=1 / SYNTHETIC_RATE
    )
    assert other["ratio"] == pytest.approx(expected.ratio, abs=1e-6) and 0 < other["ratio"] < 1
    assert other["model_spikes"] == len(steps)
    assert client.get(_ev_url(GLIF3)).json() == other  # cached


def test_the_measure_is_queued_once_on_the_worker(client, held_synthetic_nwb, monkeypatch, settings):
    from celery import current_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []
    monkeypatch.setattr(
        current_app.tasks[EXPLAINED_VARIANCE_TASK], "apply_async", lambda args, task_id: sent.append((args, task_id))
    )
    monkeypatch.setattr(simulations, "_task_state", lambda task_id: ("PENDING", None))
    from tests.integration.models.conftest import clear_model_cache

    clear_model_cache(GLIF1, "ev-*.json")
    assert client.get(_ev_url(GLIF1)).json()["state"] == "queued"
    assert client.get(_ev_url(GLIF1)).json()["state"] == "running"
    assert len(sent) == 1 and sent[0][0] == [GLIF1] and sent[0][1].startswith(f"ev-{GLIF1}-")
