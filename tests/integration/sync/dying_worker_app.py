"""The celltypes Celery app (its settings: acks_late, reject_on_worker_lost) with one more task, for the worker
of test_task_reliability.py: it kills its own process the first time it runs, as an out-of-memory kill would."""

import os
import signal
from pathlib import Path

from celltypes.celery import app

__all__ = ["app"]


@app.task(name="tests.die_once", soft_time_limit=30, time_limit=60)
def die_once(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return "ran again after its process was killed"
