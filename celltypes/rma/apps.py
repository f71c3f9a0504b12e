from django.apps import AppConfig


class RmaConfig(AppConfig):
    name = "celltypes.rma"
    label = "rma"
    verbose_name = "Allen RMA API"
