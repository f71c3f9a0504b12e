"""Fixtures of the model tests: eager Celery (shared with the morphology tests)."""

from tests.integration.morphology.conftest import eager_celery  # noqa: F401


def clear_glif_cache(model_id: int) -> None:
    """Remove the cached worker runs of a GLIF model (so a test sees the run happen)."""
    from celltypes.atlas import filestore

    for path in filestore.derived_path("simulations", str(model_id)).glob("glif-*.json"):
        path.unlink()
