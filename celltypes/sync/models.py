"""The mirror sync's own bookkeeping: one row per full sync run and its staged pages. Never Allen's records."""

from django.db import models


class SyncRun(models.Model):
    """One full sync of the upstream (`manage.py sync_upstream --all`, the `sync.mirror_sync` task).

    A run is mid-way while `status` is "fetching" or "applying" (or "failed", which the next run resumes): its
    pages sit in SyncStagedPage and the live tables still hold the previous consistent state. "complete" means its
    apply committed; "abandoned" means a later run (other upstream, other page size, or --restart) replaced it.
    """

    FETCHING = "fetching"
    APPLYING = "applying"
    COMPLETE = "complete"
    FAILED = "failed"
    ABANDONED = "abandoned"
    STATUSES = [(s, s) for s in (FETCHING, APPLYING, COMPLETE, FAILED, ABANDONED)]
    UNFINISHED = (FETCHING, APPLYING, FAILED)

    upstream = models.CharField(max_length=500)
    page_size = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=STATUSES, default=FETCHING, db_index=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    current_table = models.CharField(max_length=100, blank=True, default="")
    pages_total = models.PositiveIntegerField(default=0)  # known once each table's first page is in
    pages_staged = models.PositiveIntegerField(default=0)
    rows_staged = models.PositiveBigIntegerField(default=0)
    changes = models.JSONField(default=dict)  # table -> {"rows", "new", "changed", "retired"} after the apply
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "sync_runs"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"sync run {self.id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.COMPLETE:
            return 100
        return int(100 * self.pages_staged / self.pages_total) if self.pages_total else 0


class SyncStagedPage(models.Model):
    """One page of one upstream table, as fetched (Allen's records, JSON), committed on its own: the checkpoint.

    A rerun of an unfinished run skips the pages it finds here; the apply reads them all, and they are deleted
    once the apply commits.
    """

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="pages")
    table = models.CharField(max_length=100)
    page = models.PositiveIntegerField()
    start_row = models.PositiveBigIntegerField()
    total_rows = models.PositiveBigIntegerField()
    rows = models.JSONField(default=list)
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sync_staged_pages"
        ordering = ["run_id", "table", "page"]
        constraints = [models.UniqueConstraint(fields=["run", "table", "page"], name="sync_staged_page_unique")]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.table} page {self.page}"
