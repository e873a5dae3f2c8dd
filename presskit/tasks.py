"""Scheduled housekeeping for the presskit project."""
from importlib import import_module

from celery import shared_task
from django.conf import settings

from presskit.stats import stats_flush as counts_flush


@shared_task(name="presskit.tasks.sessions_clear_expired")
def sessions_clear_expired() -> None:
    """Delete expired browser sessions (an artist's claim to a chat lives in one)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@shared_task(name="presskit.tasks.stats_flush", acks_late=True)
def stats_flush() -> int:
    """The public pages' counts, from Redis to the database."""
    return counts_flush()
