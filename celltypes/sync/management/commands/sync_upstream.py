"""Bring records and files from the upstream Allen API (CELLTYPES_UPSTREAM) into the local atlas."""

from django.core.management.base import BaseCommand, CommandError

from celltypes.sync.client import UpstreamError
from celltypes.sync.services import SyncError, neuronal_model_sync, well_known_file_fetch


class Command(BaseCommand):
    help = (
        "Sync from the upstream: --neuronal-model N records the model's template files (NMODL), fit, "
        "specimen ephys result, reconstructions and sweeps, then fetches the files not held; --file N fetches one "
        "well-known file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--neuronal-model", type=int, action="append", default=[], help="repeatable")
        parser.add_argument("--file", type=int, action="append", default=[], help="well-known file id (repeatable)")
        parser.add_argument("--no-files", action="store_true", help="records only; files are fetched when asked for")

    def handle(self, *args, neuronal_model: list[int], file: list[int], no_files: bool, **options):
        if not neuronal_model and not file:
            raise CommandError("name at least one --neuronal-model or --file")
        try:
            for model_id in neuronal_model:
                report = neuronal_model_sync(neuronal_model_id=model_id, fetch_files=not no_files)
                self.stdout.write(report.summary())
                if report.fetch_errors:
                    raise CommandError(f"{len(report.fetch_errors)} files of model {model_id} were not fetched")
            for file_id in file:
                stored = well_known_file_fetch(file_id=file_id)
                self.stdout.write(f"well-known file {file_id}: {stored.size:,} bytes, sha256 {stored.sha256[:12]}")
        except (UpstreamError, SyncError) as exc:
            raise CommandError(str(exc)) from exc
