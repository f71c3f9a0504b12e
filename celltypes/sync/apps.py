from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "celltypes.sync"
    label = "sync"
    verbose_name = "Upstream sync"

    def ready(self) -> None:
        # Register the sync tasks in every process (web too), so services can queue them by name.
        from celltypes.sync import tasks  # noqa: F401
