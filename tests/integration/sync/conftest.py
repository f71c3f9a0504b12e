"""Pointing this process's Celery app at a broker of the test's choosing (a real Redis, or none)."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

BROKER_KEYS = ("CELERY_BROKER_URL", "broker_url")


@contextmanager
def _celery_broker(url: str) -> Iterator[None]:
    from celltypes.celery import app

    def drop_producers() -> None:  # the producer pool is bound to the broker it was made for
        app.close()
        app.amqp._producer_pool = None  # app.close() skips it while the pool is empty

    saved = {key: app.conf.get(key) for key in BROKER_KEYS}
    app.conf.update({key: url for key in BROKER_KEYS})
    drop_producers()
    try:
        yield
    finally:
        app.conf.update(saved)
        drop_producers()


@pytest.fixture
def celery_broker():
    """`with celery_broker(url):` sends this process's tasks to `url` (a dead port: no broker)."""
    return _celery_broker
