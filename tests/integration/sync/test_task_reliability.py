"""No task is lost: one whose process dies goes back to the queue; a worker killed whole gives its messages back
within the visibility timeout; every task declares time limits shorter than that."""

import os
import subprocess
import sys
import uuid

from django.conf import settings

from celltypes.celery import app

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_every_task_declares_time_limits_within_the_visibility_timeout():
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert {"sync.well_known_file_fetch", "sync.neuronal_model_sync", "atlas.morphology_preview_render"} <= set(tasks)
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility <= 3600 / 2  # Redis's default hour held a killed worker's message far too long
    for name, task in tasks.items():
        assert task.soft_time_limit and task.time_limit, f"{name} declares no time limits"
        assert task.soft_time_limit < task.time_limit, name
        backoff = task.retry_backoff_max if getattr(task, "autoretry_for", ()) else 0
        assert task.time_limit + backoff < visibility, f"{name} could outlive its message's visibility"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert visibility == settings.CELERY_VISIBILITY_TIMEOUT


def test_a_task_whose_process_is_killed_runs_again(redis_url, tmp_path):
    queue = f"reliability-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.integration.sync.dying_worker_app", "worker",
         "--pool=prefork", "--concurrency=1", "-Q", queue, "--loglevel=WARNING"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        from celery import Celery

        sender = Celery(broker=redis_url, backend=redis_url, set_as_current=False)
        marker = tmp_path / "killed-once"
        result = sender.send_task("tests.die_once", args=[str(marker)], queue=queue)
        outcome = result.get(timeout=60, propagate=False)
        assert marker.exists(), "the task never ran"
        assert (result.status, outcome) == ("SUCCESS", "ran again after its process was killed")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
