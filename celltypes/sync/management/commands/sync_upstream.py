"""Bring records and files from the upstream Allen API (CELLTYPES_UPSTREAM) into the local atlas."""

from django.core.management.base import BaseCommand, CommandError

from celltypes.atlas import choices
from celltypes.atlas.models import NeuronalModel
from celltypes.sync.client import UpstreamError
from celltypes.sync.services import SyncError, neuronal_model_sync, well_known_file_fetch


class Command(BaseCommand):
    help = (
        "Sync from the upstream: --neuronal-model N records the model's template files (NMODL), fit, "
        "specimen ephys result, reconstructions and sweeps, then fetches the files not held; --all-biophysical does "
        "that for every biophysical model held here; --file N fetches one recorded well-known file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--neuronal-model", type=int, action="append", default=[], help="repeatable")
        parser.add_argument("--all-biophysical", action="store_true", help="every perisomatic/all-active model here")
        parser.add_argument("--file", type=int, action="append", default=[], help="well-known file id (repeatable)")
        parser.add_argument("--no-files", action="store_true", help="records only; files are fetched when asked for")

    def handle(self, *args, neuronal_model: list[int], all_biophysical: bool, file: list[int], no_files: bool, **_):
        if all_biophysical:
            neuronal_model = neuronal_model + list(
                NeuronalModel.objects.filter(
                    neuronal_model_template_id__in=choices.BIOPHYSICAL_TEMPLATE_IDS
                ).values_list("id", flat=True)
            )
        if not neuronal_model and not file:
            raise CommandError("name at least one --neuronal-model, --all-biophysical or --file")
        failures = []
        for model_id in dict.fromkeys(neuronal_model):
            try:
                report = neuronal_model_sync(neuronal_model_id=model_id, fetch_files=not no_files)
            except SyncError as exc:
                failures.append(f"neuronal model {model_id}: {exc}")
                continue
            except UpstreamError as exc:
                if exc.retryable:
                    raise CommandError(str(exc)) from exc  # unreachable or too slow: the rest would fail alike
                failures.append(f"neuronal model {model_id}: {exc}")
                continue
            self.stdout.write(report.summary())
            failures += [f"file {file_id}: {error}" for file_id, error in report.fetch_errors.items()]
        for file_id in file:
            try:
                stored = well_known_file_fetch(file_id=file_id)
            except (UpstreamError, SyncError) as exc:
                failures.append(f"file {file_id}: {exc}")
                continue
            self.stdout.write(f"well-known file {file_id}: {stored.size:,} bytes, sha256 {stored.sha256[:12]}")
        if failures:
            raise CommandError("not synced:\n" + "\n".join(failures))
