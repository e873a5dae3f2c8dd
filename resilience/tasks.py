"""Scheduled work of the resilience app: AI request log housekeeping, the degradation level."""
from celery import shared_task
from django.conf import settings

from resilience import degradation
from resilience.ai_log import ai_log_purge


@shared_task(name="resilience.tasks.ai_logs_purge")
def ai_logs_purge() -> int:
    """Delete AI request log rows older than AI_LOG_RETENTION_DAYS; returns how many requests went."""
    return ai_log_purge(older_than_days=settings.AI_LOG_RETENTION_DAYS)


# Bounded well below the beat interval: an evaluation is a few health checks of a second or two.
@shared_task(name="resilience.tasks.degradation_evaluate", soft_time_limit=20, time_limit=25)
def degradation_evaluate() -> int:
    """Re-evaluate the degradation level (beat, every DEGRADATION_EVAL_INTERVAL s); returns it."""
    degradation.degradation_evaluate()
    return int(degradation.degradation_current().level)
