"""Bring records and files from the upstream Allen API (CELLTYPES_UPSTREAM) into the local atlas.

`--all`: the full mirror (celltypes/sync/mirror.py). Exit status 0 when the run completed (changed or not), 1 when
it stopped (the message says where; the next run continues it), 3 when another full sync is running.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from celltypes.atlas import choices
from celltypes.atlas.models import NeuronalModel
from celltypes.sync.client import UpstreamError
from celltypes.sync.mirror import MirrorBusy, MirrorError, MirrorReport, mirror_sync
from celltypes.sync.services import SyncError, neuronal_model_sync, well_known_file_fetch


class Command(BaseCommand):
    help = (
        "Sync from the upstream: --all mirrors every table (records only; files are fetched when first asked "
        "for), continuing an unfinished run from its checkpoint; --neuronal-model N records the model's template "
        "files (NMODL), fit, "
        "specimen ephys result, reconstructions and sweeps, then fetches the files not held; --all-biophysical does "
        "that for every biophysical model held here; --file N fetches one recorded well-known file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="full mirror of every table from the upstream")
        parser.add_argument("--restart", action="store_true", help="with --all: abandon an unfinished run")
        parser.add_argument("--page-size", type=int, help="with --all: rows per page (CELLTYPES_MIRROR_PAGE_SIZE)")
        parser.add_argument("--concurrency", type=int, help="with --all: requests in flight")
        parser.add_argument("--upstream", help="with --all: the upstream's base URL (default CELLTYPES_UPSTREAM)")
        parser.add_argument("--no-progress", action="store_true", help="with --all: no progress bar")
        parser.add_argument("--neuronal-model", type=int, action="append", default=[], help="repeatable")
        parser.add_argument("--all-biophysical", action="store_true", help="every perisomatic/all-active model here")
        parser.add_argument("--file", type=int, action="append", default=[], help="well-known file id (repeatable)")
        parser.add_argument("--no-files", action="store_true", help="records only; files are fetched when asked for")

    def handle(self, *args, neuronal_model: list[int], all_biophysical: bool, file: list[int], no_files: bool, **opts):
        if opts["all"]:
            self._mirror(opts)
            return
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

    def _mirror(self, opts: dict) -> None:
        bar = ProgressBar(self.stdout, enabled=not opts["no_progress"])
        started = time.perf_counter()

        def on_run(run) -> None:
            how = (
                f"resuming run {run.id} ({run.pages_staged} pages already staged)"
                if run.pages_staged
                else (f"run {run.id}")
            )
            self.stdout.write(f"mirror sync of {run.upstream}: {how}, {run.page_size} rows per page")

        try:
            report = mirror_sync(
                upstream=opts["upstream"],
                restart=opts["restart"],
                progress=bar.update,
                on_run=on_run,
                page_size=opts["page_size"],
                concurrency=opts["concurrency"],
            )
        except MirrorBusy as exc:
            bar.close()
            raise CommandError(str(exc), returncode=3) from exc
        except MirrorError as exc:
            bar.close()
            raise CommandError(f"sync stopped: {exc}") from exc
        bar.close()
        self._mirror_summary(report, time.perf_counter() - started)

    def _mirror_summary(self, report: MirrorReport, seconds: float) -> None:
        for table, c in report.changes.items():
            rows, seconds = report.fetched.get(table, (0, 0.0))
            rate = f"{rows / seconds:>9,.0f} rows/s fetched" if seconds else ""
            self.stdout.write(
                f"  {table:<40} {c['rows']:>8} rows  {c['new']:>6} new  {c['changed']:>6} changed  "
                f"{c['retired']:>6} retired  {rate}".rstrip()
            )
        self.stdout.write(
            f"fetched {report.pages_fetched} pages ({report.pages_skipped} already staged), {report.rows_fetched} "
            f"rows in {report.fetch_seconds:.1f} s ({report.rows_per_second:,.0f} rows/s); applied in "
            f"{report.apply_seconds:.1f} s"
        )
        if report.version_bumped:
            self.stdout.write(f"run {report.run_id} complete: {report.changed} rows changed")
        else:
            self.stdout.write(f"run {report.run_id} complete: nothing changed")


class ProgressBar:
    """A one-line text bar per table, redrawn in place on a terminal (a line per table otherwise)."""

    WIDTH = 30

    def __init__(self, out, *, enabled: bool = True) -> None:
        self.out = out
        self.enabled = enabled
        self.tty = enabled and hasattr(out, "isatty") and out.isatty()
        self.table = None
        self.line = ""

    def update(self, table: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        filled = int(self.WIDTH * done / total) if total else self.WIDTH
        line = f"{table:<40} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:>8}/{total}"
        if self.tty:
            if table != self.table and self.table is not None:
                self.out.write("\n", ending="")
            self.out.write("\r" + line, ending="")
            self.out.flush()
        elif done >= total:  # not a terminal: one line when a table is done
            self.out.write(line)
        self.table, self.line = table, line

    def close(self) -> None:
        if self.tty and self.table is not None:
            self.out.write("", ending="\n")
        self.table = None
