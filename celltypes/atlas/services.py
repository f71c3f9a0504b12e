"""Writes to the atlas: loading the demo set (and, later, upstream sync) go through here."""

import time
from pathlib import Path

from django.db import transaction

from celltypes.atlas.demo_loader import DEMO_DIR, DemoLoader, LoadReport


def demo_load(*, demo_dir: Path = DEMO_DIR) -> tuple[LoadReport, float]:
    """Load the bundled demo set in one transaction; any error rolls back every table."""
    started = time.perf_counter()
    with transaction.atomic():
        report = DemoLoader(demo_dir).run()
    return report, time.perf_counter() - started
