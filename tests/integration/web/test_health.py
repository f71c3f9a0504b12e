"""/health shows no secrets and little to the public, and a burst of calls does not queue a task each or hold
threads on a worker that is down (real Redis, no worker)."""

import time

import pytest
from django.contrib.auth.models import User

from celltypes.web.health_checks import health_cache_clear

pytestmark = pytest.mark.django_db
SECRET = "s3cret-broker-password"


@pytest.fixture(autouse=True)
def _fresh_health_cache():
    health_cache_clear()
    yield
    health_cache_clear()


def test_the_public_sees_ok_flags_only_and_no_one_sees_the_broker_password(client, settings, idle_redis_url):
    settings.CELERY_BROKER_URL = idle_redis_url.replace("redis://", f"redis://:{SECRET}@")  # Redis answers: auth fails
    response = client.get("/health?format=json")
    assert response.status_code == 503
    assert response.json() == {
        "ok": False,
        "checks": {"database": {"ok": True}, "broker": {"ok": False}, "worker": {"ok": False}},
    }
    html = client.get("/health", HTTP_ACCEPT="text/html").content.decode()
    assert "failing" in html and "specimens" not in html

    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    detailed = client.get("/health?format=json").json()
    assert "2335 specimens" in detailed["checks"]["database"]["detail"]
    assert detailed["checks"]["broker"]["detail"]  # the error, for staff
    staff_html = client.get("/health", HTTP_ACCEPT="text/html").content.decode()
    for body in (response.content.decode(), html, str(detailed), staff_html):
        assert SECRET not in body and "redis://" not in body


def test_a_burst_of_health_calls_queues_one_ping_and_waits_once(client, settings, idle_redis_url, celery_broker):
    import redis

    settings.CELERY_BROKER_URL = idle_redis_url
    settings.CELERY_RESULT_BACKEND = idle_redis_url
    queue = redis.Redis.from_url(idle_redis_url)
    queue.delete("celery")
    timings = []
    with celery_broker(idle_redis_url):
        for _ in range(5):
            started = time.monotonic()
            body = client.get("/health?format=json").json()
            timings.append(time.monotonic() - started)
    queued = queue.llen("celery")
    queue.delete("celery")
    assert body["checks"]["broker"]["ok"] and not body["checks"]["worker"]["ok"]  # no worker runs
    assert queued == 1
    assert timings[0] < 4.0  # one wait for the worker, bounded
    assert max(timings[1:]) < 0.5, timings  # the rest are answered from the cached check
