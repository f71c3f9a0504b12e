"""A biophysical model's f-I curve: one worker task over the cell's Long Square amplitudes (at most
MAX_AMPLITUDES steps of 1 s), queued once with progress, cached; one real NEURON run of a perisomatic model."""

import numpy as np
import pytest

from celltypes.atlas.selectors.models import held_model_get
from celltypes.atlas.services import fi_curves, simulations
from tests.integration.models.conftest import clear_model_cache

pytestmark = pytest.mark.django_db

CELL = 464198958
PERISOMATIC = 472450023
URL = f"/cell/{CELL}/models/{PERISOMATIC}/fi.json"


def test_the_amplitudes_are_the_cells_positive_long_squares_at_most_ten():
    assert fi_curves.fi_amplitudes([-110.0, 0.0, 30.0, 50.0]) == [30.0, 50.0]
    many = fi_curves.fi_amplitudes([float(a) for a in range(10, 300, 10)])
    assert len(many) == fi_curves.MAX_AMPLITUDES and many[0] == 10.0 and many[-1] == 290.0
    cell = fi_curves.model_fi_amplitudes(held_model_get(model_id=PERISOMATIC))
    assert 0 < len(cell) <= fi_curves.MAX_AMPLITUDES and min(cell) > 0 and 170.0 in cell


def test_the_curve_is_queued_once_and_reports_progress(client, monkeypatch, settings):
    from celery import current_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    clear_model_cache(PERISOMATIC, "fi-*.json")
    monkeypatch.setattr(simulations, "biophysical_unavailable_reason", lambda: None)
    monkeypatch.setattr(fi_curves, "biophysical_unavailable_reason", lambda: None)
    sent, state = [], {"value": ("PENDING", None)}
    task = current_app.tasks[fi_curves.BIOPHYSICAL_FI_TASK]
    monkeypatch.setattr(task, "apply_async", lambda args, task_id: sent.append((args, task_id)))
    monkeypatch.setattr(simulations, "_task_state", lambda task_id: state["value"])
    assert client.get(URL).json() == {"state": "queued", "progress": 0.0}
    state["value"] = ("PROGRESS", {"fraction": 0.35})
    assert client.get(URL).json() == {"state": "running", "progress": 0.35}
    assert len(sent) == 1 and sent[0][0] == [PERISOMATIC] and sent[0][1].startswith(f"fi-{PERISOMATIC}-")


def test_the_curve_counts_spikes_inside_each_step_and_is_cached(client, monkeypatch, eager_celery, tmp_path):
    """The NEURON runs are replaced by SYNTHETIC results: amplitude / 10 spikes inside the step, one after it."""
    clear_model_cache(PERISOMATIC, "fi-*.json")
    monkeypatch.setattr(fi_curves, "biophysical_unavailable_reason", lambda: None)
    runs = []

    def synthetic_run(held, spec, on_progress=None):
        runs.append(spec.amplitude_pa)
        on_progress(1.0)
        inside = np.linspace(0.15, 1.05, int(spec.amplitude_pa // 10))
        path = tmp_path / f"{spec.amplitude_pa}.npz"
        np.savez(path, spike_times=np.append(inside, 1.15), wall_seconds=0.5)
        return path

    monkeypatch.setattr(fi_curves, "biophysical_run", synthetic_run)
    curve = client.get(URL).json()
    amplitudes = fi_curves.model_fi_amplitudes(held_model_get(model_id=PERISOMATIC))
    assert curve["state"] == "done" and runs == amplitudes
    assert curve["points"] == [[a, float(int(a // 10))] for a in amplitudes]
    assert curve["wall_seconds"] == 0.5 * len(amplitudes)
    assert client.get(URL).json() == curve and len(runs) == len(amplitudes)  # from the cache
    html = client.get(f"/cell/{CELL}/models/", {"model": PERISOMATIC}).content.decode()
    assert f'"url": "{URL}"' in html and "data-fi-status" in html


def test_a_model_without_its_reconstruction_says_so(client):
    answer = client.get("/cell/386049446/models/472451419/fi.json").json()
    assert answer["state"] == "unavailable"


@pytest.mark.slow
def test_perisomatic_fi_curve_with_neuron_end_to_end(client, eager_celery, monkeypatch):
    if simulations.biophysical_unavailable_reason():
        pytest.skip(simulations.biophysical_unavailable_reason())
    monkeypatch.setattr(fi_curves, "MAX_AMPLITUDES", 2)
    clear_model_cache(PERISOMATIC, "fi-*.json")
    curve = client.get(URL).json()
    assert curve["state"] == "done"
    # the cell's lowest and highest Long Square amplitudes: silent at 10 pA; 89 spikes at 170 pA (recorded: 50)
    assert curve["points"] == [[10.0, 0.0], [170.0, 89.0]]
