"""Writes to the atlas: loading the demo set (and, later, upstream sync) go through here."""

import time
from pathlib import Path

from django.db import transaction
from django.db.models import F

from celltypes.atlas.demo_loader import DEMO_DIR, DemoLoader, LoadReport
from celltypes.atlas.models import AtlasVersion


def demo_load(*, demo_dir: Path = DEMO_DIR) -> tuple[LoadReport, float]:
    """Load the bundled demo set in one transaction; any error rolls back every table."""
    started = time.perf_counter()
    with transaction.atomic():
        report = DemoLoader(demo_dir).run()
        atlas_version_bump()
    return report, time.perf_counter() - started


def atlas_version_bump() -> None:
    """Invalidate every cache keyed on the atlas version (call inside the writing transaction)."""
    AtlasVersion.objects.get_or_create(id=1)
    AtlasVersion.objects.filter(id=1).update(version=F("version") + 1)


def atlas_version_get() -> int:
    return AtlasVersion.objects.filter(id=1).values_list("version", flat=True).first() or 0
