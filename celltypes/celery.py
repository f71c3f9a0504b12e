import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celltypes.settings")

app = Celery("celltypes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="celltypes.ping", soft_time_limit=5, time_limit=10)
def ping() -> str:
    """Round-trip check used by /health."""
    return "pong"
