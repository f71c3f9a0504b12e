from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from celltypes.atlas.services.loading import DEMO_DIR, demo_load
from celltypes.atlas.tables import TableError
from celltypes.science.errors import ScienceError


class Command(BaseCommand):
    help = "Load the bundled real Allen demo data set (idempotent; all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--demo-dir", type=Path, default=DEMO_DIR, help="folder holding MANIFEST.csv")

    def handle(self, *args, demo_dir: Path, **options):
        try:
            report, seconds = demo_load(demo_dir=demo_dir)
        except (TableError, ScienceError) as exc:
            raise CommandError(f"load_demo failed, nothing was changed: {exc}") from None
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        for name, count in sorted(report.counts.items()):
            self.stdout.write(f"{name:32s} {count:7d}")
        self.stdout.write(self.style.SUCCESS(f"loaded the demo set in {seconds:.1f} s ({report.files_stored} files)"))
