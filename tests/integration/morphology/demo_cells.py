"""Demo cells the morphology tests use, and small helpers (shared by the test modules and conftest)."""

import shutil
from pathlib import Path

import pytest

from celltypes.atlas import filestore

DEMO = Path(__file__).resolve().parents[3] / "celltypes" / "atlas" / "demo_data"

# Specimen 488683425: bmtk's all-active model ships reconstruction.swc (+ marker) of reconstruction 527109145,
# the very reconstruction Allen's published record describes.
PUBLISHED_SPECIMEN, PUBLISHED_RECONSTRUCTION, PUBLISHED_SWC, PUBLISHED_MARKER = (
    488683425,
    527109145,
    527109147,
    12001545731,
)
PUBLISHED_SWC_PATH = DEMO / "bmtk/examples/bio_all_active_sweep/models/neuronal_model_491766131/reconstruction.swc"
# Specimen 485184849: the 10,671-node SWC of bmtk's 450-cell example is reconstruction 505202170, which Allen's
# older (402-record) release publishes; the cell's current record is the newer 657298379.
LARGE_SPECIMEN, LARGE_RECONSTRUCTION, LARGE_CURRENT = 485184849, 505202170, 657298379
LARGE_SWC_PATH = DEMO / "bmtk/examples/bio_nsg/bio_450cells/components/morphologies/485184849_reconstruction.swc"
# Specimen 320207387: only an older (superseded) reconstruction's SWC is held.
OLDER_SPECIMEN, OLDER_RECONSTRUCTION, OLDER_CURRENT = 320207387, 328933585, 491392845


# Every test module here uses these marks (the routes are not in celltypes/urls.py yet).
MARKS = [pytest.mark.django_db, pytest.mark.urls("tests.integration.morphology.urls")]


def clear_previews(swc_file_id: int) -> None:
    shutil.rmtree(filestore.derived_path("previews", str(swc_file_id)), ignore_errors=True)


def corrupted(source: Path, line: int, bad: str = "12.5x") -> bytes:
    """``source`` with the x coordinate of (1-based) ``line`` replaced by ``bad``."""
    lines = source.read_bytes().split(b"\n")
    cells = lines[line - 1].split()
    cells[2] = bad.encode()
    lines[line - 1] = b" ".join(cells)
    return b"\n".join(lines)


def replace_held_bytes(wkf, content: bytes) -> None:
    """Put new bytes in the store for file ``wkf`` and record them, as a fetch of a changed upstream file does."""
    stored = filestore.write_atomic(filestore.well_known_file_path(wkf.pk), [content])
    type(wkf).objects.filter(pk=wkf.pk).update(size=stored.size, sha256=stored.sha256)
    wkf.size, wkf.sha256 = stored.size, stored.sha256
