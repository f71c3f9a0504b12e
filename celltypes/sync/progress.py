"""Reads of the mirror sync's state for the /sync/ page and the admin: the newest run and its tables so far."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from celltypes.sync.mirror_tables import TABLES
from celltypes.sync.models import SyncRun, SyncStagedPage


@dataclass(frozen=True)
class TableProgress:
    table: str
    rows: int  # staged so far (pages x page size, at most the total)
    total: int | None  # None until the table's first page is in

    @property
    def done(self) -> bool:
        return self.total is not None and self.rows >= self.total


@dataclass(frozen=True)
class MirrorProgress:
    run: SyncRun
    tables: list[TableProgress]

    @property
    def running(self) -> bool:
        return self.run.status in (SyncRun.FETCHING, SyncRun.APPLYING)

    @property
    def stalled(self) -> bool:
        """Going on, but nothing staged for longer than two page deadlines: its process probably died (a kill,
        a lost worker); the next run continues it."""
        quiet = timezone.now() - self.run.updated_at
        return self.running and quiet.total_seconds() > 2 * settings.CELLTYPES_MIRROR_PAGE_DEADLINE


def mirror_progress_get() -> MirrorProgress | None:
    """The newest run with each table's progress (while it fetches), or None before any run."""
    run = SyncRun.objects.first()
    if run is None:
        return None
    staged = {
        row["table"]: row
        for row in SyncStagedPage.objects.filter(run_id=run.id)
        .values("table")
        .annotate(pages=Count("id"), total=Max("total_rows"))
    }
    tables = []
    for table in TABLES:
        row = staged.get(table.name)
        if row is None:
            tables.append(TableProgress(table.name, 0, None))
        else:
            tables.append(TableProgress(table.name, min(row["total"], row["pages"] * run.page_size), row["total"]))
    return MirrorProgress(run=run, tables=tables)
