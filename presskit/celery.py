"""The Celery app: `celery -A presskit worker` and `celery -A presskit beat`."""
import os

from celery import Celery
from celery.signals import worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "presskit.settings")

app = Celery("presskit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_shutdown.connect
def flush_breaker_counts(**kwargs: object) -> None:
    """Prefork children end without running atexit: send their kept-back breaker counts."""
    from resilience.breakers import flush_kept_counts

    flush_kept_counts()
