"""Admin: the full sync runs (status, progress, what changed) and "Start a full sync", which queues the task."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from celltypes.sync.mirror import mirror_sync_queue
from celltypes.sync.models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "progress", "current_table", "rows_staged", "upstream", "started_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    actions = ["start_full_sync"]

    @admin.display(description="progress")
    def progress(self, run: SyncRun) -> str:
        return f"{run.pages_staged}/{run.pages_total} pages ({run.percent}%)"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_start_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sync.add_syncrun")

    @admin.action(description="Start a full sync", permissions=["start"])
    def start_full_sync(self, request: HttpRequest, queryset) -> None:
        self._queue(request)

    def _queue(self, request: HttpRequest) -> None:
        try:
            task_id = mirror_sync_queue()
        except Exception as exc:  # the broker is unreachable: say so, do not fail the page
            self.message_user(request, f"could not queue the full sync: {type(exc).__name__}: {exc}", messages.ERROR)
            return
        self.message_user(request, f"queued a full sync (task {task_id}); its run appears here when it starts")

    def get_urls(self):
        start = require_POST(self.admin_site.admin_view(self.start_view))
        return [path("start/", start, name="sync_syncrun_start"), *super().get_urls()]

    def start_view(self, request: HttpRequest) -> HttpResponseRedirect:
        if not self.has_start_permission(request):
            self.message_user(request, "you may not start a full sync", messages.ERROR)
        else:
            self._queue(request)
        return HttpResponseRedirect(reverse("admin:sync_syncrun_changelist"))

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {**(extra_context or {}), "can_start": self.has_start_permission(request)}
        return super().changelist_view(request, extra_context)
