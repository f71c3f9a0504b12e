"""The mirror sync seen from outside: its Celery task, the /sync/ page, the admin, the beat schedule."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from celery import current_app

from celltypes.sync.models import SyncRun, SyncStagedPage
from celltypes.sync.tasks import mirror_sync_task
from tests.integration.sync.test_mirror import demo_upstream  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_the_task_syncs_and_reports_progress_per_table(demo_upstream, settings, monkeypatch):  # noqa: F811
    settings.CELLTYPES_UPSTREAM = demo_upstream.url
    states = []
    monkeypatch.setattr(mirror_sync_task, "update_state", lambda **kwargs: states.append(kwargs))
    result = mirror_sync_task.apply()
    run = SyncRun.objects.get()
    # the demo set onto itself changes nothing (the older tracings and the demo NWB specimens are outside the scope:
    # not retired, and their files keep their owners)
    assert result.get() == f"run {run.id} complete: 0 rows changed"
    assert {"state": "PROGRESS", "meta": {"table": "Specimen", "done": 2333, "total": 2333}} in states
    assert states[-1]["meta"]["table"] == "apply"


def test_the_sync_page_shows_the_run_and_polls_while_it_goes_on(client):
    empty = client.get("/sync/")
    assert empty.status_code == 200 and b'data-sync-status="none"' in empty.content
    run = SyncRun.objects.create(upstream="http://upstream.example", page_size=2000, pages_total=36, pages_staged=9)
    SyncStagedPage.objects.create(run=run, table="Specimen", page=0, start_row=0, total_rows=2335, rows=[])
    page = client.get("/sync/")
    text = page.content.decode()
    assert 'data-sync-status="fetching"' in text and 'hx-trigger="every 2s"' in text
    assert '<progress max="100" value="25">' in text and "9 of 36 pages staged" in text
    assert "<td>Specimen</td><td>2000</td><td>2335</td>" in text
    assert "has probably stopped" not in text
    SyncRun.objects.filter(id=run.id).update(updated_at=run.updated_at - timedelta(hours=1))
    assert "the process running it has probably stopped" in client.get("/sync/").content.decode()
    fragment = client.get("/sync/", headers={"HX-Request": "true"})
    assert fragment.content.decode().lstrip().startswith("<section") and "<html" not in fragment.content.decode()
    SyncRun.objects.filter(id=run.id).update(
        status="complete", changes={"Specimen": {"rows": 2335, "new": 1, "changed": 2, "retired": 3}}
    )
    done = client.get("/sync/").content.decode()
    assert "hx-trigger" not in done and "<td>Specimen</td><td>2335</td><td>1</td><td>2</td><td>3</td>" in done


def test_the_admin_lists_runs_and_starts_a_full_sync_by_the_tasks_name(admin_client, monkeypatch, settings):
    settings.CELLTYPES_UPSTREAM = ""
    refused = admin_client.post("/admin/sync/syncrun/start/", follow=True).content.decode()
    assert "No full sync queued: no upstream is configured (CELLTYPES_UPSTREAM is empty)" in refused
    settings.CELLTYPES_UPSTREAM = "http://upstream.example"
    queued = []
    task = current_app.tasks["sync.mirror_sync"]
    monkeypatch.setattr(task, "apply_async", lambda **kwargs: queued.append(kwargs) or type("R", (), {"id": "t-1"}))
    SyncRun.objects.create(upstream="http://upstream.example", page_size=2000, pages_total=4, pages_staged=1)
    listing = admin_client.get("/admin/sync/syncrun/").content.decode()
    assert "1/4 pages (25%)" in listing and "Start a full sync" in listing
    answer = admin_client.post("/admin/sync/syncrun/start/", follow=True)
    assert queued == [{"retry": False}] and "Queued a full sync (task t-1)" in answer.content.decode()
    run = SyncRun.objects.get()
    admin_client.post("/admin/sync/syncrun/", {"action": "start_full_sync", "_selected_action": [run.id]}, follow=True)
    assert len(queued) == 2


@pytest.mark.parametrize(("upstream", "interval", "expected"), [
    ("http://upstream.example", "3600", {"mirror-sync": {"task": "sync.mirror_sync", "schedule": 3600.0}}),
    ("", "3600", {}),
    ("http://upstream.example", "0", {}),
])  # fmt: skip
def test_beat_runs_the_full_sync_periodically_only_with_an_upstream(upstream, interval, expected):
    env = {**os.environ, "CELLTYPES_UPSTREAM": upstream, "CELLTYPES_MIRROR_INTERVAL": interval}
    code = "from django.conf import settings; print(settings.CELERY_BEAT_SCHEDULE)"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=REPO, env={**env, "DJANGO_SETTINGS_MODULE": "celltypes.settings"}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert out.stdout.strip() == repr(expected)


def test_make_run_and_docker_compose_both_start_beat():
    import yaml

    compose = yaml.safe_load(Path(REPO, "docker-compose.yml").read_text())["services"]
    assert compose["beat"]["command"].startswith("celery -A celltypes beat ")
    assert compose["beat"]["environment"] == compose["worker"]["environment"]
    run_sh = Path(REPO, "scripts", "run.sh").read_text()
    assert '"$VENV/bin/celery" -A celltypes beat ' in run_sh


def test_the_task_queues_its_continuation_at_the_soft_time_limit_and_answers_when_a_run_goes_on(monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from celltypes.sync import tasks
    from celltypes.sync.mirror import MirrorBusy

    queued = []
    monkeypatch.setattr(mirror_sync_task, "apply_async", lambda **kwargs: queued.append(kwargs))

    def stopped(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(tasks, "mirror_sync", stopped)
    assert "continues in the next task" in mirror_sync_task.apply().get()
    assert queued == [{"countdown": 5}]

    def busy(**kwargs):
        raise MirrorBusy("a full sync is already running (run 7)")

    monkeypatch.setattr(tasks, "mirror_sync", busy)
    assert mirror_sync_task.apply().get() == "a full sync is already running (run 7)"
