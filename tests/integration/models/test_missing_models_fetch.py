"""Models Allen lists for a cell that this copy does not hold: listed with a fetch action that asks the upstream
(the tests' loopback stub, answering with Allen's own recorded record of model 472451419) for the cell's model ids
and queues the existing ``sync.neuronal_model_sync`` task by name for each; the tab polls until they arrive."""

import pytest

from celltypes.atlas.models import NeuronalModel
from celltypes.sync.model_fetch import MODEL_SYNC_TASK, cell_models_query

pytestmark = pytest.mark.django_db

CELL = 386049446  # Allen lists one perisomatic model, 472451419
MODEL = 472451419
PARTLY_HELD_CELL = 485574832


@pytest.fixture
def model_not_held(settings):
    """Cell 386049446 as a copy that has not fetched its model yet (the row is removed for this test). The files the
    fetch writes into the shared test store (the stub's stand-in SWC of reconstruction 491459171 among them) are
    removed afterwards: the database rolls back, the store does not, and a later test would find them held."""
    from celltypes.atlas import filestore

    held = filestore.data_dir() / "well_known_files"
    before = set(held.iterdir()) if held.exists() else set()
    NeuronalModel.objects.filter(pk=MODEL).delete()
    yield
    filestore.derived_path("model_fetch", f"{CELL}.json").unlink(missing_ok=True)
    for path in set(held.iterdir()) - before if held.exists() else ():
        path.unlink()


def test_offline_the_missing_models_are_listed_and_the_page_says_they_cannot_be_fetched(client, settings):
    settings.CELLTYPES_UPSTREAM = ""
    html = client.get(f"/cell/{PARTLY_HELD_CELL}/models/").content.decode()
    assert 'data-missing="glif">GLIF: 4 of 5 not held' in html
    assert "No upstream is configured on this server" in html and "data-offline" in html
    assert "Fetch them from the upstream" not in html
    response = client.post(f"/cell/{PARTLY_HELD_CELL}/models/fetch")
    assert response.status_code == 409 and "no upstream is configured" in response.content.decode()


def test_an_unreachable_upstream_is_a_clear_message(client, settings):
    settings.CELLTYPES_UPSTREAM = "http://127.0.0.1:9"  # nothing listens
    html = client.post(f"/cell/{PARTLY_HELD_CELL}/models/fetch", HTTP_HX_REQUEST="true").content.decode()
    assert "The models cannot be fetched: the upstream cannot list the cell&#x27;s models" in html


def test_the_missing_model_is_fetched_by_name_and_swapped_in(
    client, settings, model_not_held, allen_model_upstream, eager_celery, monkeypatch
):
    from celery import current_app

    settings.CELLTYPES_UPSTREAM = allen_model_upstream.url
    allen_model_upstream.queries[cell_models_query(CELL)] = {
        "success": True,
        "msg": [{"id": MODEL, "neuronal_model_template_id": 329230710}],
    }
    html = client.get(f"/cell/{CELL}/models/").content.decode()
    assert 'data-missing="perisomatic"' in html and "Fetch them from the upstream" in html
    assert f'hx-post="/cell/{CELL}/models/fetch"' in html

    task = current_app.tasks[MODEL_SYNC_TASK]
    sent = []
    real = task.apply_async
    monkeypatch.setattr(task, "apply_async", lambda args, task_id: sent.append(task_id) or real(args, task_id=task_id))
    fragment = client.post(f"/cell/{CELL}/models/fetch", HTTP_HX_REQUEST="true").content.decode()
    assert sent == [f"model-sync-{MODEL}"]
    assert f'data-fetch-model="{MODEL}" data-state="arrived"' in fragment
    status = client.get(f"/cell/{CELL}/models/fetch/status")
    assert status["HX-Refresh"] == "true"
    html = client.get(f"/cell/{CELL}/models/").content.decode()
    assert f'data-selected-model="{MODEL}"' in html and 'data-missing="perisomatic"' not in html
    client.post(f"/cell/{CELL}/models/fetch", HTTP_HX_REQUEST="true")  # held now: nothing queued again
    assert sent == [f"model-sync-{MODEL}"]
