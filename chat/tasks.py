"""The chat's background work."""
from celery import shared_task

from chat.pending import pending_answers_replay


@shared_task(name="chat.tasks.pending_answers_replay", acks_late=True)
def replay_pending_answers() -> int:
    """Answers kept during a database outage, applied once writes are possible again."""
    return pending_answers_replay()
