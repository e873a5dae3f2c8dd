"""The Celery app: `celery -A presskit worker` and `celery -A presskit beat`."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "presskit.settings")

app = Celery("presskit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
