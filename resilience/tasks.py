"""Scheduled housekeeping of the AI request log."""
from celery import shared_task
from django.conf import settings

from resilience.ai_log import ai_log_purge


@shared_task(name="resilience.tasks.ai_logs_purge")
def ai_logs_purge() -> int:
    """Delete AI request log rows older than AI_LOG_RETENTION_DAYS; returns how many requests went."""
    return ai_log_purge(older_than_days=settings.AI_LOG_RETENTION_DAYS)
