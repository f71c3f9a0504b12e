"""Fixtures of the model tests: eager Celery (shared with the morphology tests)."""

from tests.integration.morphology.conftest import eager_celery  # noqa: F401
