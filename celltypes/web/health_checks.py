"""Checks behind /health: the database answers, the Redis broker answers, a Celery worker answers a task."""

import time

from django.conf import settings
from django.db import connection


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a health page reports every failure instead of raising
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM specimens")
        (count,) = cursor.fetchone()
    return f"{connection.vendor}, {count} specimens"


def _broker() -> str:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    client.ping()
    return f"redis {client.info('server').get('redis_version')} at {settings.CELERY_BROKER_URL}"


def _worker() -> str:
    from celltypes.celery import ping

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager mode (no worker needed): " + ping.delay().get()
    result = ping.apply_async(expires=10)
    try:
        return "worker replied " + result.get(timeout=5)
    finally:
        result.forget()


def run_health_checks() -> dict[str, dict]:
    database = _timed(_database)
    broker = _timed(_broker)
    worker = _timed(_worker) if broker["ok"] else {"ok": False, "detail": "broker unreachable", "ms": 0}
    return {"database": database, "broker": broker, "worker": worker}
