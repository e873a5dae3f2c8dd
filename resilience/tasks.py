"""Scheduled and queued work of the resilience app: AI request log housekeeping, the degradation
level, and the queue for later (the drain on beat, one task per job run)."""
from celery import shared_task
from django.conf import settings

from resilience import degradation, drain, queue
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


# Late acks and a reject when the worker is lost: a job whose worker dies is delivered again.
# That is safe because a run claims its row first: a second delivery of a job already running
# or done finds nothing to claim (resilience.queue).
@shared_task(name="resilience.tasks.queue_job_run", acks_late=True, reject_on_worker_lost=True)
def queue_job_run(job_id: int) -> str:
    """Run one queued job; returns what happened (done, failed, dead, released, skipped, lost)."""
    return queue.job_run(job_id)


def _send(job_id: int, countdown: float) -> None:
    queue_job_run.apply_async(args=[job_id], countdown=countdown)


@shared_task(name="resilience.tasks.queue_drain", soft_time_limit=60, time_limit=90)
def queue_drain() -> dict[str, int]:
    """Hand due jobs to the workers (beat, every QUEUE_DRAIN_INTERVAL s); returns how many, by
    dependency."""
    return drain.queue_drain(send=_send).dispatched
