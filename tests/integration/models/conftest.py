"""Fixtures of the model tests: eager Celery (shared with the morphology tests), a synthetic held recording."""

import pytest

from tests.integration.morphology.conftest import eager_celery  # noqa: F401
from tests.support.synthetic_recording import SYNTHETIC_NWB_FILE_ID, write_synthetic_nwb


def clear_model_cache(model_id: int, pattern: str = "glif-*.json") -> None:
    """Remove a model's cached worker results and in-flight markers (so a test sees the work happen)."""
    from celltypes.atlas import filestore

    folder = filestore.derived_path("simulations", str(model_id))
    for path in [*folder.glob(pattern), *folder.glob("*.running")]:
        path.unlink()


def forget_synthetic_nwb() -> None:
    """Remove the held copy, its fetch records and the sweeps read from it."""
    from celltypes.atlas import filestore
    from celltypes.atlas.selectors import models as model_selectors

    filestore.well_known_file_path(SYNTHETIC_NWB_FILE_ID).unlink(missing_ok=True)
    for suffix in ("json", "marker"):
        filestore.derived_path("fetch", f"{SYNTHETIC_NWB_FILE_ID}.{suffix}").unlink(missing_ok=True)
    model_selectors._recorded_sweep.cache_clear()


@pytest.fixture
def held_synthetic_nwb(tmp_path):
    from celltypes.atlas import filestore

    expected = write_synthetic_nwb(tmp_path / "synthetic.nwb")
    filestore.store_well_known_file(SYNTHETIC_NWB_FILE_ID, tmp_path / "synthetic.nwb")
    yield expected
    forget_synthetic_nwb()
