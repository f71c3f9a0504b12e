from django.apps import AppConfig


class AtlasConfig(AppConfig):
    name = "celltypes.atlas"
    label = "atlas"
    verbose_name = "Allen Cell Types atlas"

    def ready(self) -> None:
        # Register the atlas's Celery tasks in every process (web too), so services can queue them by name.
        from celltypes.atlas import tasks  # noqa: F401
