from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "celltypes.web"
    label = "web"
