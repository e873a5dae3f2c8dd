"""The chat's background work."""
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from chat.pending import pending_answers_replay
from chat.services import unanswered_chats_remove


@shared_task(name="chat.tasks.pending_answers_replay", acks_late=True)
def replay_pending_answers() -> int:
    """Answers kept during a database outage, applied once writes are possible again."""
    return pending_answers_replay()


@shared_task(name="chat.tasks.unanswered_chats_remove")
def remove_unanswered_chats() -> int:
    """Drafts that never got an answer, once UNANSWERED_CHATS_MAX_AGE has passed."""
    return unanswered_chats_remove(older_than=timedelta(hours=settings.UNANSWERED_CHATS_MAX_AGE))
