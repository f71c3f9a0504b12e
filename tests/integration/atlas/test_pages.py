"""The home page, the /health page (with a real Redis and a real Celery worker) and the read-only admin."""

import pytest
from django.contrib.auth.models import User

from celltypes.web.health_checks import health_cache_clear, run_health_checks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_health_cache():
    health_cache_clear()
    yield
    health_cache_clear()


def test_home_page_shows_what_is_loaded(client):
    html = client.get("/").content.decode()
    assert 'data-stat="cells">2333<' in html
    assert 'data-stat="mouse">1920<' in html
    assert 'data-stat="human">413<' in html
    assert 'data-stat="reconstructions">667<' in html
    assert 'data-stat="glif-models">3753<' in html


def test_health_checks_database_broker_and_a_worker_round_trip(settings, celery_worker_url, celery_broker):
    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = celery_worker_url
    with celery_broker(celery_worker_url):
        for _ in range(10):  # the worker process may still be starting
            checks = run_health_checks()
            if checks["worker"]["ok"]:
                break
            health_cache_clear()
    assert checks["database"]["ok"], checks
    assert "2335 specimens" in checks["database"]["detail"]
    assert checks["broker"]["ok"], checks
    assert checks["worker"] == {**checks["worker"], "ok": True, "detail": "worker replied pong"}


def test_health_reports_a_dead_broker_with_503(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health?format=json")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False


def test_admin_lists_allen_tables_read_only(client):
    staff = User.objects.create_user("staff", password="pw", is_staff=True, is_superuser=True)
    client.force_login(staff)
    listing = client.get("/admin/atlas/apicelltypesspecimendetail/?q=313862022")
    assert listing.status_code == 200
    assert client.get("/admin/atlas/apicelltypesspecimendetail/add/").status_code == 403
    change = client.get("/admin/atlas/specimen/313862022/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert client.post("/admin/atlas/specimen/313862022/delete/", {"post": "yes"}).status_code == 403
