"""Checks behind /health: the database answers, the Redis broker answers, a Celery worker answers a task.

The broker and worker checks are cached for CELLTYPES_HEALTH_CACHE_SECONDS per process and run by one thread at
a time: a burst of health requests enqueues one ping task, not one each, and while a check is refreshed the others
get the last result at once instead of waiting on a worker that may be down. Details (versions, counts, error
messages) are for staff only; no check ever prints a URL.
"""

import re
import threading
import time

from django.conf import settings
from django.db import connection

WORKER_TIMEOUT = 2.0  # seconds a worker has to answer the ping task
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)

_cached: dict[str, dict] = {}
_cached_at = 0.0
_refresh_lock = threading.Lock()


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a health page reports every failure instead of raising
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": _URL.sub("<url>", detail), "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM specimens")
        (count,) = cursor.fetchone()
    return f"{connection.vendor}, {count} specimens"


def _broker() -> str:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2)
    client.ping()
    return f"redis {client.info('server').get('redis_version')}"


def _worker() -> str:
    from celltypes.celery import ping

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager mode (no worker needed): " + ping.delay().get()
    result = ping.apply_async(expires=WORKER_TIMEOUT + 5)
    try:
        return "worker replied " + result.get(timeout=WORKER_TIMEOUT)
    finally:
        result.forget()


def _broker_and_worker() -> dict[str, dict]:
    broker = _timed(_broker)
    worker = _timed(_worker) if broker["ok"] else {"ok": False, "detail": "broker unreachable", "ms": 0}
    return {"broker": broker, "worker": worker}


def _broker_and_worker_cached() -> dict[str, dict]:
    """The last result while fresh; else one thread refreshes it while the others take the last one (if any)."""
    global _cached, _cached_at
    fresh = time.monotonic() - _cached_at < settings.CELLTYPES_HEALTH_CACHE_SECONDS
    if _cached and fresh:
        return _cached
    if not _refresh_lock.acquire(blocking=not _cached):  # the very first check: wait for it
        return _cached
    try:
        if not _cached or time.monotonic() - _cached_at >= settings.CELLTYPES_HEALTH_CACHE_SECONDS:
            _cached, _cached_at = _broker_and_worker(), time.monotonic()
        return _cached
    finally:
        _refresh_lock.release()


def health_cache_clear() -> None:
    global _cached, _cached_at
    _cached, _cached_at = {}, 0.0


def run_health_checks() -> dict[str, dict]:
    """{name: {"ok", "detail", "ms"}} for the database (checked now), the broker and a worker (cached)."""
    return {"database": _timed(_database), **_broker_and_worker_cached()}


def public_health(checks: dict[str, dict]) -> dict[str, dict]:
    """What anyone may see: whether each check passes, nothing more."""
    return {name: {"ok": check["ok"]} for name, check in checks.items()}
