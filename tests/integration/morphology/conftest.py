"""Fixtures for the morphology tests: a private SWC in the file store, and the three Celery modes."""

import pytest

from celltypes.atlas import filestore
from tests.integration.morphology.demo_cells import clear_previews


@pytest.fixture
def held_swc():
    """Put SWC bytes in the file store as a new 3DNeuronReconstruction file of a cell that holds none.

    Returns a function (content: bytes) -> WellKnownFile; the file and its previews are removed afterwards.
    """
    from celltypes.atlas.models import NeuronReconstruction, WellKnownFile
    from celltypes.atlas.selectors.morphology import specimens_with_held_swc
    from tests.factories import WellKnownFileFactory

    made: list[int] = []
    held = specimens_with_held_swc(NeuronReconstruction.objects.values_list("specimen_id", flat=True))
    reconstruction = (
        NeuronReconstruction.objects.filter(superseded=False, number_nodes__isnull=False)
        .exclude(specimen_id__in=held)
        .order_by("id")
        .first()
    )

    def store(content: bytes) -> WellKnownFile:
        wkf = WellKnownFileFactory.build(swc=True, neuron_reconstruction=reconstruction)
        made.append(wkf.id)
        stored = filestore.write_atomic(filestore.well_known_file_path(wkf.id), [content])
        wkf.size, wkf.sha256 = stored.size, stored.sha256
        wkf.save()
        return wkf

    yield store
    for file_id in made:
        filestore.well_known_file_path(file_id).unlink(missing_ok=True)
        clear_previews(file_id)


@pytest.fixture
def eager_celery(settings):
    """Run tasks in the request. Celery 5.5 still takes a producer from the broker, so use the memory one.

    The app's configuration is a live view of the Django settings (namespace CELERY), so set those.
    """
    from celltypes.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = "memory://"
    app._after_fork()  # drop connection pools made for another broker
    yield app
    app._after_fork()


@pytest.fixture
def recorded_enqueues(monkeypatch):
    """Record morphology_preview_render_task.delay calls instead of sending them."""
    from celltypes.atlas.tasks import morphology_preview_render_task

    calls: list[tuple] = []
    monkeypatch.setattr(morphology_preview_render_task, "delay", lambda *args: calls.append(args))
    return calls


@pytest.fixture
def real_worker(settings, celery_worker_url):
    """Send tasks to the session's real Celery worker (through its Redis)."""
    from celltypes.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = celery_worker_url
    app._after_fork()  # drop connection pools made for another broker
    yield app
    app._after_fork()
