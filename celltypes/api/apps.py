from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "celltypes.api"
    label = "api"
    verbose_name = "REST API"
