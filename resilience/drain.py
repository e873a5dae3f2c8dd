"""The drain: hands due jobs to the workers, gently, when their dependency can take them.

Celery beat runs `queue_drain` every QUEUE_DRAIN_INTERVAL seconds. Each run:
1. frees jobs whose holder outlived its lease (a worker killed mid-job): they are due again;
2. for each dependency with due jobs, asks its gate: OPEN (breaker closed: hand out at the
   dependency's rate), PROBE (breaker open but due to probe, or half-open: hand out one job, the
   probe), SHUT (open, or forced open by staff: nothing);
3. hands jobs out highest priority first, each at its own time slot: slots are 1/rate apart and
   the next free one is kept in Redis, so the rate holds across runs and however late beat
   ticks. A job handed out is leased until its slot plus QUEUE_JOB_LEASE, so no run hands it out
   twice; the Celery message carries only its id, with a countdown to its slot.

Rates come from QUEUE_RATE_LIMITS (jobs per second by dependency; `integration` covers every
`integration:<service>`), else QUEUE_DEFAULT_RATE. A recovering provider is never stampeded.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from resilience.breakers import get_breaker
from resilience.machine import State
from resilience.models import QueuedJob
from resilience.queue import Status, describe_error, gate_get, job_due_q, lease_seconds
from resilience.redis_client import shared_redis

logger = logging.getLogger(__name__)

Send = Callable[[int, float], None]  # (job id, seconds until its slot): puts the message on the broker


class Gate(StrEnum):
    OPEN = "open"  # hand out at the dependency's rate
    PROBE = "probe"  # hand out one job: the breaker's probe
    SHUT = "shut"  # hand out nothing


def breaker_gate(name: str) -> Gate:
    breaker = get_breaker(name)
    snapshot = breaker.snapshot()
    if snapshot.state in (State.CLOSED, State.FORCED_CLOSED):
        return Gate.OPEN
    if snapshot.state is State.HALF_OPEN:
        return Gate.PROBE
    if snapshot.state is State.OPEN:
        probe_at_ms = snapshot.changed_at_ms + breaker.config.recovery_timeout * 1000
        return Gate.PROBE if time.time() * 1000 >= probe_at_ms else Gate.SHUT
    return Gate.SHUT  # forced open


def dependency_gate(name: str) -> Gate:
    gate = gate_get(name)
    return gate() if gate is not None else breaker_gate(name)


def rate_for(dependency: str) -> float:
    """Jobs per second: QUEUE_RATE_LIMITS by name, then by kind (`integration:x` -> `integration`)."""
    limits = settings.QUEUE_RATE_LIMITS
    rate = limits.get(dependency, limits.get(dependency.split(":", 1)[0], settings.QUEUE_DEFAULT_RATE))
    return max(float(rate), 0.001)


@dataclass
class DrainReport:
    freed: int = 0  # jobs whose holder was lost
    dispatched: dict[str, int] = field(default_factory=dict)
    gates: dict[str, str] = field(default_factory=dict)
    skipped: bool = False  # another drain was running


def _free_lost_jobs(now) -> int:
    """Jobs whose holder outlived its lease: due again now (or dead when out of attempts)."""
    freed = 0
    with transaction.atomic():
        lost = QueuedJob.objects.select_for_update(skip_locked=True).filter(
            status=Status.RUNNING, lease_expires_at__lt=now)
        for job in lost:
            out = job.attempts >= job.max_attempts
            job.status = Status.DEAD if out else Status.FAILED
            job.last_error = "worker lost"
            job.lease_expires_at = None
            job.next_attempt_at = now
            job.finished_at = now if out else None
            job.save(update_fields=["status", "last_error", "lease_expires_at", "next_attempt_at", "finished_at",
                                    "updated_at"])
            logger.warning("job %s: its holder was lost; %s", job, "dead-lettered" if out else "due again")
            freed += 1
    return freed


def _slots(dependency: str, wanted: int, horizon: float) -> list[float]:
    """Up to `wanted` start times (epoch seconds) for jobs of `dependency`, 1/rate apart, from its
    next free slot, none beyond now + horizon (at least one if the next slot is due)."""
    rate = rate_for(dependency)
    key = f"{settings.RESILIENCE_KEY_PREFIX}:queue:slot:{dependency}"
    client = shared_redis()
    now = time.time()
    stored = client.get(key)
    start = max(now, float(stored) if stored else 0.0)
    count = min(wanted, max(1 if start <= now else 0, math.ceil((now + horizon - start) * rate)))
    if count <= 0:
        return []
    client.set(key, repr(start + count / rate), ex=max(60, math.ceil(horizon * 10 + count / rate)))
    return [start + i / rate for i in range(count)]


def _in_flight(dependency: str, now) -> bool:
    return QueuedJob.objects.filter(dependency=dependency).filter(
        status__in=(Status.PENDING, Status.FAILED, Status.RUNNING), lease_expires_at__gt=now).exists()


def _dispatch(dependency: str, gate: Gate, now, send: Send) -> int:
    horizon = settings.QUEUE_DRAIN_INTERVAL
    if gate is Gate.PROBE and _in_flight(dependency, now):
        return 0  # the probe is out: wait for its verdict
    wanted = 1 if gate is Gate.PROBE else math.ceil(rate_for(dependency) * horizon) + 1
    with transaction.atomic():
        jobs = list(QueuedJob.objects.select_for_update(skip_locked=True)
                    .filter(job_due_q(now), dependency=dependency)
                    .order_by("priority", "next_attempt_at", "id")[:wanted])
        slots = _slots(dependency, len(jobs), horizon) if jobs else []
        handed = list(zip(jobs, slots))
        if handed:  # one UPDATE: every job leased until the last slot of this run plus the lease
            QueuedJob.objects.filter(pk__in=[job.pk for job, _ in handed]).update(
                lease_expires_at=now + timedelta(seconds=max(0.0, handed[-1][1] - time.time()) + lease_seconds()),
                updated_at=now)
        transaction.on_commit(lambda: _send_all(send, handed))
    return len(handed)


def _send_all(send: Send, handed: list[tuple[QueuedJob, float]]) -> None:
    """Each message on its own: one the broker refuses waits for its lease to run out (and is
    handed out again then); the others go."""
    for job, slot in handed:
        try:
            send(job.pk, max(0.0, slot - time.time()))
        except Exception as error:  # noqa: BLE001 - the job is safe in the database
            logger.warning("queue: job %s not sent to the workers (%s): handed out again later",
                           job.pk, describe_error(error))


# Longer than the drain task's hard time limit: two drains never overlap (and double the rate).
DRAIN_LOCK_SECONDS = 120


def queue_drain(*, send: Send) -> DrainReport:
    report = DrainReport()
    lock = shared_redis().lock(f"{settings.RESILIENCE_KEY_PREFIX}:queue:drain-lock", timeout=DRAIN_LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        report.skipped = True
        return report
    try:
        report.freed = _free_lost_jobs(timezone.now())
        now = timezone.now()
        dependencies = (QueuedJob.objects.filter(job_due_q(now)).order_by()
                        .values_list("dependency", flat=True).distinct())
        for dependency in sorted(set(dependencies)):
            try:
                gate = dependency_gate(dependency)
                report.gates[dependency] = gate
                if gate is not Gate.SHUT:
                    report.dispatched[dependency] = _dispatch(dependency, gate, now, send)
            except Exception as error:  # noqa: BLE001 - one dependency's trouble must not stop the rest
                logger.warning("queue: jobs of %s not handed out (%s)", dependency, describe_error(error))
    finally:
        lock.release()
    if report.dispatched or report.freed:
        logger.info("queue drain: %s", report)
    return report
