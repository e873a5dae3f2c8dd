"""The Celery app: `celery -A presskit worker` and `celery -A presskit beat`."""
import logging
import os

from celery import Celery
from celery.signals import after_setup_logger, worker_init, worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "presskit.settings")

app = Celery("presskit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def pdf_engine_preload(**kwargs: object) -> None:
    """In the worker's main process, before its pool forks: every child has the PDF engine loaded
    (its pages shared), outside any job's time limit. WeasyPrint starts no thread, so it forks safely."""
    from presskit.exports import pdf_engine_load

    pdf_engine_load()


@worker_process_shutdown.connect
def flush_breaker_counts(**kwargs: object) -> None:
    """Prefork children end without running atexit: send their kept-back breaker counts."""
    from resilience.breakers import flush_kept_counts

    flush_kept_counts()


# Run every few seconds by beat: their "sending due task", "received" and "succeeded" lines would
# bury everything else in the log. They are logged at DEBUG (LOG_LEVEL=DEBUG or
# LOG_ROUTINE_TASKS=true shows them); what they do that matters (a job handed out, a level
# changed, an answer replayed) is logged by them.
ROUTINE_TASKS = ("resilience.tasks.queue_drain", "resilience.tasks.degradation_evaluate",
                 "chat.tasks.pending_answers_replay", "presskit.tasks.stats_flush")


class RoutineTasksQuiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from django.conf import settings

        if record.levelno > logging.INFO or not record.name.startswith("celery") or settings.LOG_ROUTINE_TASKS:
            return True
        if any(task in record.getMessage() for task in ROUTINE_TASKS):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


@after_setup_logger.connect
def quiet_routine_tasks(logger: logging.Logger, **kwargs: object) -> None:
    for handler in logger.handlers:
        handler.addFilter(RoutineTasksQuiet())
