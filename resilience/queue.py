"""Queue for later: work that failed and can wait, kept in the database and run once.

A job type says what the work is (`run`, outside any transaction: an upload, an AI call, a
webhook), what it waits on (`dependency`: a breaker, or a gate registered by name), and how its
effect is recorded (`apply`, inside the transaction that marks the job done, so the effect and
the "done" are one write and a job redelivered by the broker never takes effect twice).

A run first *claims* the row: status RUNNING, one attempt more, and a lease. Whoever holds the
lease (a worker, or the request that queued the job and tries it at once) finishes it; when a
holder dies, the lease runs out and the drain hands the job out again. Finishing checks that
the claim is still the holder's, so a late finisher decides nothing.
"""
from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from resilience.breakers import CircuitOpenError, get_breaker
from resilience.models import QueuedJob
from resilience.skips import integration_failure_record, integration_skip_seconds

logger = logging.getLogger(__name__)

Status = QueuedJob.Status
Priority = QueuedJob.Priority
WAITING = (Status.PENDING, Status.FAILED)  # statuses a job can be handed out from
CLAIM_SLACK = timedelta(seconds=1)  # a message may arrive a little before its job is due


class JobDeferred(Exception):
    """Raised by a job's `run`: not now, try again in `seconds`; the attempt is not counted."""

    def __init__(self, reason: str, seconds: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.seconds = seconds


@dataclass(frozen=True)
class JobType:
    name: str
    run: Callable[[dict], Any]  # does the work; raises to fail (JobDeferred: not now)
    dependency: str  # default breaker or gate name; a request may name another
    apply: Callable[[dict, Any], dict | None] | None = None  # records the effect; returns a summary
    priority: int = Priority.MEDIUM
    max_attempts: int | None = None  # None: QUEUE_MAX_ATTEMPTS
    skippable: bool = False  # a non-critical integration: skipped while failing (resilience.skips)


@dataclass(frozen=True)
class JobRequest:
    """A job to queue. The idempotency key names the work: the same key is the same job."""

    job_type: str
    payload: dict
    idempotency_key: str
    owner: str = ""
    priority: int | None = None
    dependency: str | None = None
    delay: float = 0.0  # seconds before the job is due (a live caller is expected to take it first)


_types: dict[str, JobType] = {}
# Dependencies that are not one breaker (e.g. "ai": any AI provider). The job's `run` goes
# through the breakers itself; the gate tells the drain whether to hand jobs out.
_gates: dict[str, Callable[[], Any]] = {}


def job_type_register(job_type: JobType) -> None:
    _types[job_type.name] = job_type


def job_type_get(name: str) -> JobType:
    return _types[name]


def gate_register(name: str, gate: Callable[[], Any]) -> None:
    _gates[name] = gate


def gate_get(name: str) -> Callable[[], Any] | None:
    return _gates.get(name)


def lease_seconds() -> float:
    return settings.QUEUE_JOB_LEASE


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with "equal jitter": between half and all of base × 2^(attempts−1)."""
    delay = min(settings.QUEUE_BACKOFF_MAX, settings.QUEUE_BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)


def describe_error(error: BaseException) -> str:
    """What the log and the admin keep of an error: its type and status, never its text (which
    may quote the artist's content or a provider's reply)."""
    status = getattr(error, "status_code", None) or getattr(getattr(error, "response", None), "status_code", None)
    return f"{type(error).__name__}" + (f" (HTTP {status})" if status else "")


# --- Claims --------------------------------------------------------------------------------------
@dataclass
class Claim:
    """A job held by this caller (its token is on the row): finish it with `job_settle`."""

    job: QueuedJob
    token: str
    attempt: int


def _take(job: QueuedJob, now: datetime) -> Claim:
    job.status = Status.RUNNING
    job.attempts += 1
    job.holder = uuid.uuid4().hex
    job.lease_expires_at = now + timedelta(seconds=lease_seconds())
    job.save(update_fields=["status", "attempts", "holder", "lease_expires_at", "updated_at"])
    return Claim(job, job.holder, job.attempts)


def _claimable(job: QueuedJob, now: datetime) -> bool:
    if job.status in WAITING:
        return job.next_attempt_at <= now + CLAIM_SLACK
    # A holder that outlived its lease is gone (killed, lost): the job is free again.
    return job.status == Status.RUNNING and job.lease_expires_at is not None and job.lease_expires_at < now


def job_enqueue(request: JobRequest, *, claim: bool = False) -> tuple[QueuedJob, Claim | None]:
    """Queue the work (once per idempotency key). With `claim`, the caller also takes it to run
    now (e.g. the request that wants the result at once); the job stays in the queue if it dies."""
    job_type = job_type_get(request.job_type)
    now = timezone.now()
    with transaction.atomic():
        job, created = QueuedJob.objects.select_for_update().get_or_create(
            idempotency_key=request.idempotency_key,
            defaults={
                "job_type": request.job_type,
                "payload": request.payload,
                "priority": job_type.priority if request.priority is None else request.priority,
                "dependency": request.dependency or job_type.dependency,
                "owner": request.owner,
                "max_attempts": job_type.max_attempts or settings.QUEUE_MAX_ATTEMPTS,
                "next_attempt_at": now + timedelta(seconds=request.delay),
            },
        )
        if created:
            logger.info("job queued: %s", job)
        # Written ahead and never tried: the caller may take it before it is due.
        written_ahead = job.status == Status.PENDING and job.attempts == 0 and job.lease_expires_at is None
        if claim and (written_ahead or _claimable(job, now)) and job.attempts < job.max_attempts:
            return job, _take(job, now)
        return job, None


def job_claim(job_id: int) -> Claim | None:
    """Take a job to run it; None when it is not there to take (done, held by another, not yet
    due, or a duplicate delivery of a message already acted on)."""
    now = timezone.now()
    with transaction.atomic():
        job = QueuedJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or not _claimable(job, now):
            return None
        if job.attempts >= job.max_attempts:  # its last holder died on the last attempt
            _dead_letter(job, job.last_error or "worker lost", now)
            return None
        return _take(job, now)


def _held(claim: Claim) -> QueuedJob | None:
    """The job row, locked, if this claim still holds it."""
    job = QueuedJob.objects.select_for_update().get(pk=claim.job.pk)
    if job.status != Status.RUNNING or job.holder != claim.token:
        logger.warning("job %s finished by a holder that had lost it: ignored", job)
        return None
    return job


def _dead_letter(job: QueuedJob, error: str, now: datetime) -> None:
    job.status = Status.DEAD
    job.last_error = error
    job.lease_expires_at = None
    job.finished_at = now
    job.save(update_fields=["status", "last_error", "lease_expires_at", "finished_at", "updated_at"])
    logger.error("job dead-lettered after %s attempts: %s (%s)", job.attempts, job, error)


def job_succeed(claim: Claim, value: Any) -> bool:
    """Record the effect and mark the job done, in one transaction; False if the claim was lost."""
    job_type = job_type_get(claim.job.job_type)
    with transaction.atomic():
        job = _held(claim)
        if job is None:
            return False
        summary = job_type.apply(job.payload, value) if job_type.apply else None
        job.status = Status.DONE
        job.result = summary
        job.last_error = ""
        job.lease_expires_at = None
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "result", "last_error", "lease_expires_at", "finished_at", "updated_at"])
    claim.job = job
    return True


def job_fail(claim: Claim, error: BaseException) -> None:
    """A failed attempt: retried after a backoff, or dead-lettered when out of attempts."""
    now = timezone.now()
    with transaction.atomic():
        job = _held(claim)
        if job is None:
            return
        described = describe_error(error)
        if job.attempts >= job.max_attempts:
            _dead_letter(job, described, now)
        else:
            job.status = Status.FAILED
            job.last_error = described
            job.lease_expires_at = None
            job.next_attempt_at = now + timedelta(seconds=backoff_seconds(job.attempts))
            job.save(update_fields=["status", "last_error", "lease_expires_at", "next_attempt_at", "updated_at"])
    claim.job = job


def job_release(claim: Claim, *, seconds: float, reason: str) -> None:
    """Not tried after all (its breaker refused, or its run deferred): back to the queue, the
    attempt not counted."""
    with transaction.atomic():
        job = _held(claim)
        if job is None:
            return
        job.status = Status.PENDING
        job.attempts -= 1
        job.lease_expires_at = None
        job.next_attempt_at = timezone.now() + timedelta(seconds=seconds)
        job.last_error = reason
        job.save(update_fields=["status", "attempts", "lease_expires_at", "next_attempt_at", "last_error",
                                "updated_at"])
    claim.job = job


def run_through(dependency: str, work: Callable[[], Any]) -> Any:
    """Run work through its dependency's breaker (a gate's work goes through breakers itself)."""
    return work() if gate_get(dependency) is not None else get_breaker(dependency).call_sync(work)


def skip_check(job: QueuedJob) -> None:
    """A skippable job's service failed too often lately: raise JobDeferred until it may be called."""
    if job_type_get(job.job_type).skippable and (seconds := integration_skip_seconds(job.dependency)):
        raise JobDeferred(f"skipped: {job.dependency} failing", seconds)


def job_settle(claim: Claim, *, value: Any = None, error: BaseException | None = None) -> str:
    """Finish a claimed job from its run's result; returns what happened: "done", "failed",
    "dead", "released" (not tried: breaker refused, or deferred) or "lost" (claim lost)."""
    job = claim.job
    if error is None:
        try:
            return Status.DONE if job_succeed(claim, value) else "lost"
        except Exception as apply_error:  # noqa: BLE001 - recording the effect failed: an attempt used
            logger.exception("job %s: its effect could not be recorded", job)
            error = apply_error
    if isinstance(error, JobDeferred):
        job_release(claim, seconds=error.seconds, reason=error.reason)
        return "released"
    if isinstance(error, CircuitOpenError):
        job_release(claim, seconds=settings.QUEUE_DRAIN_INTERVAL, reason=describe_error(error))
        return "released"
    # With its traceback: the stored error is one line, and an error without a message is only its class.
    logger.warning("job %s failed (attempt %s): %s", job, claim.attempt, describe_error(error), exc_info=error)
    if job_type_get(job.job_type).skippable:
        integration_failure_record(job.dependency, error)
    job_fail(claim, error)
    return claim.job.status


def job_run(job_id: int) -> str:
    """A worker's whole turn with one job (the Celery task calls this)."""
    claim = job_claim(job_id)
    if claim is None:
        return "skipped"
    job = claim.job
    job_type = job_type_get(job.job_type)
    try:
        skip_check(job)
        value = run_through(job.dependency, lambda: job_type.run(job.payload))
    except Exception as error:  # noqa: BLE001 - every failure is settled: retried, released or dead
        return job_settle(claim, error=error)
    return job_settle(claim, value=value)


# --- Staff ---------------------------------------------------------------------------------------
def job_retry_now(*, job_ids: list[int]) -> int:
    """Make waiting or failed jobs due now; returns how many."""
    return QueuedJob.objects.filter(pk__in=job_ids, status__in=WAITING).update(
        next_attempt_at=timezone.now(), lease_expires_at=None, updated_at=timezone.now())


def job_requeue_dead(*, job_ids: list[int]) -> int:
    """Give dead (or discarded) jobs a fresh set of attempts, due now; returns how many."""
    now = timezone.now()
    return QueuedJob.objects.filter(pk__in=job_ids, status__in=(Status.DEAD, Status.DISCARDED)).update(
        status=Status.PENDING, attempts=0, next_attempt_at=now, lease_expires_at=None, finished_at=None,
        updated_at=now)


def job_discard(*, job_ids: list[int]) -> int:
    """Set jobs aside for good (kept for the record); a running job is left to finish."""
    now = timezone.now()
    return QueuedJob.objects.filter(pk__in=job_ids).exclude(status__in=(Status.DONE, Status.RUNNING)).update(
        status=Status.DISCARDED, lease_expires_at=None, finished_at=now, updated_at=now)


def job_counts() -> dict[str, int]:
    """How many jobs are in each status (every status present, zeros included)."""
    return {**dict.fromkeys(Status.values, 0), **{status: n for (status,), n in job_counts_by("status").items()}}


@dataclass(frozen=True)
class JobAction:
    """A staff service on jobs, and how its outcome is told (the admin's actions, manage.py queue)."""

    service: Callable[..., int]  # takes job_ids=, returns how many it changed
    done: str  # what it did to the jobs it changed
    rule: str  # which jobs it leaves alone

    def summary(self, *, changed: int, left_alone: int) -> str:
        text = f"{changed} job{pluralize(changed)} {self.done}"
        return f"{text}; {left_alone} left alone ({self.rule})" if left_alone else text


JOB_ACTIONS = {
    "retry_now": JobAction(job_retry_now, "made due now", "only pending or failed jobs are retried"),
    "requeue_dead": JobAction(job_requeue_dead, "requeued with fresh attempts",
                              "only dead or discarded jobs are requeued"),
    "discard": JobAction(job_discard, "discarded", "running and done jobs are never discarded"),
}


def job_counts_by(*fields: str) -> dict[tuple, int]:
    """How many jobs share each combination of `fields` (e.g. status and dependency); only the
    combinations present. Read by the dashboard, /metrics and manage.py queue."""
    rows = QueuedJob.objects.order_by().values(*fields).annotate(n=Count("id"))
    return {tuple(row[name] for name in fields): row["n"] for row in rows}


def job_waiting_exists(*, owner: str, job_type: str) -> bool:
    """Is some work of this type for this owner still to be done (waiting, failed or running)?"""
    return QueuedJob.objects.filter(owner=owner, job_type=job_type,
                                    status__in=(*WAITING, Status.RUNNING)).exists()


def job_due_q(now: datetime) -> Q:
    """Jobs that may be handed out now: waiting, due, and not leased to anyone."""
    return (Q(status__in=WAITING, next_attempt_at__lte=now)
            & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)))
