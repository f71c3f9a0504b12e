from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "celltypes.sync"
    label = "sync"
    verbose_name = "Upstream sync"
