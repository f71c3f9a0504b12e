from django.apps import AppConfig


class AtlasConfig(AppConfig):
    name = "celltypes.atlas"
    label = "atlas"
    verbose_name = "Allen Cell Types atlas"
