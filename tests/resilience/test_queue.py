"""The queue for later, in process: claims, settling, backoff, dead letters, the drain's gates,
rates and priorities, and execute_with_fallback. (A real worker: tests/resilience/test_queue_worker.py.)"""
from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from resilience import queue
from resilience.breakers import get_breaker
from resilience.drain import Gate, breaker_gate, queue_drain
from resilience.fallbacks import Fallback, FallbackPlan, aexecute_with_fallback, execute_with_fallback
from resilience.models import QueuedJob
from resilience.queue import JobDeferred, JobRequest, JobType

pytestmark = pytest.mark.django_db

_keys = itertools.count()


class Work:
    """A job type whose run and apply the test watches and steers."""

    def __init__(self) -> None:
        self.runs: list[dict] = []
        self.applied: list[tuple[dict, object]] = []
        self.error: BaseException | None = None

    def run(self, payload: dict) -> str:
        self.runs.append(payload)
        if self.error is not None:
            raise self.error
        return f"value-{payload['n']}"

    def apply(self, payload: dict, value: object) -> dict:
        self.applied.append((payload, value))
        return {"value": value}


@pytest.fixture
def work(settings):
    settings.QUEUE_BACKOFF_BASE = 10
    settings.QUEUE_BACKOFF_MAX = 100
    settings.QUEUE_MAX_ATTEMPTS = 3
    settings.QUEUE_DRAIN_INTERVAL = 1.0
    settings.QUEUE_RATE_LIMITS = {"test-dep": 4}
    settings.RESILIENCE_BREAKERS = {**settings.RESILIENCE_BREAKERS, "test-dep": {
        "failure_threshold": 5, "volume_threshold": 5, "window": 30, "recovery_timeout": 30, "call_timeout": 5}}
    work = Work()
    queue.job_type_register(JobType(name="test.work", run=work.run, apply=work.apply, dependency="test-dep"))
    queue.job_type_register(JobType(name="test.sync", run=work.run, dependency="integration:test-hook",
                                    skippable=True))
    return work


def enqueue(n: int, **extra) -> QueuedJob:
    return queue.job_enqueue(JobRequest("test.work", {"n": n}, f"key-{next(_keys)}", **extra))[0]


def test_enqueue_is_idempotent_by_key(work):
    first, _ = queue.job_enqueue(JobRequest("test.work", {"n": 1}, "same"))
    second, _ = queue.job_enqueue(JobRequest("test.work", {"n": 2}, "same"))
    assert first.pk == second.pk and QueuedJob.objects.count() == 1
    assert second.payload == {"n": 1} and second.dependency == "test-dep" and second.max_attempts == 3


def test_a_run_applies_its_effect_once_and_a_second_delivery_does_nothing(work):
    job = enqueue(1)
    assert queue.job_run(job.pk) == "done"
    assert queue.job_run(job.pk) == "skipped"
    job.refresh_from_db()
    assert job.status == "done" and job.result == {"value": "value-1"} and job.attempts == 1
    assert len(work.runs) == 1 and len(work.applied) == 1


def test_failures_back_off_then_dead_letter(work):
    work.error = ConnectionError("refused")
    job = enqueue(1)
    before = timezone.now()
    assert queue.job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 1 and job.last_error == "ConnectionError"
    # Equal jitter: between half and all of base × 2^(attempts−1).
    assert before + timedelta(seconds=5) <= job.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    assert queue.job_run(job.pk) == "skipped"  # not due yet
    QueuedJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert queue.job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert timezone.now() + timedelta(seconds=9) <= job.next_attempt_at <= timezone.now() + timedelta(seconds=21)
    QueuedJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert queue.job_run(job.pk) == "dead"
    job.refresh_from_db()
    assert job.status == "dead" and job.attempts == 3 and job.finished_at is not None
    assert work.applied == []


def test_a_refused_or_deferred_run_does_not_use_an_attempt(work):
    job = enqueue(1)
    get_breaker("test-dep").force_open()
    assert queue.job_run(job.pk) == "released"
    job.refresh_from_db()
    assert job.status == "pending" and job.attempts == 0 and work.runs == []
    get_breaker("test-dep").reset()
    work.error = JobDeferred("later", 30)
    QueuedJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert queue.job_run(job.pk) == "released"
    job.refresh_from_db()
    assert job.attempts == 0 and job.next_attempt_at > timezone.now() + timedelta(seconds=25)


def test_a_finisher_that_lost_its_claim_decides_nothing(work):
    job = enqueue(1)
    claim = queue.job_claim(job.pk)
    # Its lease ran out and another worker took the job.
    QueuedJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    other = queue.job_claim(job.pk)
    assert other is not None and other.attempt == 2
    assert queue.job_settle(claim, value="late") == "lost"
    assert queue.job_settle(other, value="fresh") == "done"
    assert [value for _, value in work.applied] == ["fresh"]


def test_a_stalled_holder_decides_nothing_after_staff_requeue_the_job(work, settings):
    settings.QUEUE_MAX_ATTEMPTS = 1
    job = enqueue(1)
    stalled = queue.job_claim(job.pk)  # attempt 1 of 1; then its lease runs out: dead
    QueuedJob.objects.filter(pk=job.pk).update(status="dead")
    assert queue.job_requeue_dead(job_ids=[job.pk]) == 1
    fresh = queue.job_claim(job.pk)
    assert fresh.attempt == stalled.attempt == 1  # same attempt number, another holder
    assert queue.job_settle(stalled, value="stale") == "lost"
    assert queue.job_settle(fresh, value="fresh") == "done"
    assert [value for _, value in work.applied] == ["fresh"]


def test_staff_retry_discard_and_requeue(work):
    waiting, dead = enqueue(1), enqueue(2)
    QueuedJob.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    QueuedJob.objects.filter(pk=dead.pk).update(status="dead", attempts=3)
    assert queue.job_retry_now(job_ids=[waiting.pk, dead.pk]) == 1
    assert queue.job_requeue_dead(job_ids=[waiting.pk, dead.pk]) == 1
    dead.refresh_from_db()
    assert dead.status == "pending" and dead.attempts == 0
    assert queue.job_discard(job_ids=[dead.pk]) == 1
    assert queue.job_counts()["discarded"] == 1 and queue.job_counts()["pending"] == 1


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[int, float]] = []

    def __call__(self, job_id: int, countdown: float) -> None:
        self.messages.append((job_id, countdown))


def test_the_drain_waits_for_the_breaker_and_hands_out_by_priority_at_the_rate(work, django_capture_on_commit_callbacks):
    low = enqueue(1, priority=QueuedJob.Priority.LOW)
    high = enqueue(2, priority=QueuedJob.Priority.HIGH)
    medium = enqueue(3)
    extra = [enqueue(n) for n in range(4, 10)]
    sent = Sent()
    get_breaker("test-dep").force_open()
    with django_capture_on_commit_callbacks(execute=True):
        report = queue_drain(send=sent)
    assert report.gates == {"test-dep": Gate.SHUT} and sent.messages == []

    get_breaker("test-dep").reset()
    with django_capture_on_commit_callbacks(execute=True):
        report = queue_drain(send=sent)
    ids = [job_id for job_id, _ in sent.messages]
    assert ids[:3] == [high.pk, medium.pk, extra[0].pk]
    assert low.pk not in ids  # a horizon of 1 s at 4 jobs/s: 5 slots at most
    assert len(ids) == report.dispatched["test-dep"] <= 5
    countdowns = [countdown for _, countdown in sent.messages]
    assert all(0.2 <= b - a <= 0.3 for a, b in zip(countdowns, countdowns[1:]))

    # A second drain at once hands out nothing already leased, and keeps to the rate.
    again = Sent()
    with django_capture_on_commit_callbacks(execute=True):
        queue_drain(send=again)
    assert not set(ids) & {job_id for job_id, _ in again.messages}
    assert all(countdown >= countdowns[-1] + 0.2 for _, countdown in again.messages)


def test_an_open_breaker_due_to_probe_gets_one_job(work, settings, django_capture_on_commit_callbacks):
    settings.BREAKER_OVERRIDES = '{"test-dep": {"recovery_timeout": 0.01, "failure_threshold": 1, "volume_threshold": 1}}'
    for n in range(3):
        enqueue(n)
    breaker = get_breaker("test-dep")
    with pytest.raises(ConnectionError):
        breaker.call_sync(lambda: (_ for _ in ()).throw(ConnectionError()))
    assert breaker_gate("test-dep") in (Gate.PROBE, Gate.SHUT)
    import time
    time.sleep(0.05)
    assert breaker_gate("test-dep") is Gate.PROBE
    sent = Sent()
    with django_capture_on_commit_callbacks(execute=True):
        queue_drain(send=sent)
        queue_drain(send=sent)
    assert len(sent.messages) == 1


def test_a_lost_holder_frees_its_job(work, django_capture_on_commit_callbacks):
    job = enqueue(1)
    queue.job_claim(job.pk)
    QueuedJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    sent = Sent()
    with django_capture_on_commit_callbacks(execute=True):
        report = queue_drain(send=sent)
    job.refresh_from_db()
    assert report.freed == 1 and job.last_error == "worker lost" and job.attempts == 1
    assert [job_id for job_id, _ in sent.messages] == [job.pk]
    assert queue.job_run(job.pk) == "done" and len(work.applied) == 1


def test_execute_with_fallback_runs_queues_caches_and_skips(work, settings):
    plan = FallbackPlan(queue=JobRequest("test.work", {"n": 1}, "live-1"), cache_key="test-cache-1")
    result = execute_with_fallback(lambda: "fresh", dependency="test-dep", plan=plan)
    assert result.fallback is Fallback.NONE and result.value == "fresh" and result.job.status == "done"
    assert work.applied == [({"n": 1}, "fresh")]

    def broken():
        raise ConnectionError("down")

    # Failing with a cached value: served, and the job it held is done with it.
    result = execute_with_fallback(broken, dependency="test-dep", plan=FallbackPlan(
        queue=JobRequest("test.work", {"n": 2}, "live-2"), cache_key="test-cache-1"))
    assert result.fallback is Fallback.CACHED and result.value == "fresh" and result.job.status == "done"
    # Failing with nothing cached: queued for later, one attempt used.
    result = execute_with_fallback(broken, dependency="test-dep", plan=FallbackPlan(
        queue=JobRequest("test.work", {"n": 3}, "live-3")))
    assert result.fallback is Fallback.QUEUED and result.job.status == "failed" and result.job.attempts == 1
    assert result.error == "ConnectionError"
    # Nothing to stand in.
    assert execute_with_fallback(broken, dependency="test-dep", plan=FallbackPlan()).fallback is Fallback.FAILED

    # A non-critical integration: three failures in the window, then it is not called at all.
    settings.INTEGRATION_SKIP_FAILURES = 3
    calls = []

    def hook():
        calls.append(1)
        raise ConnectionError("down")

    skip = FallbackPlan(allow_skip=True)
    for _ in range(3):
        assert execute_with_fallback(hook, dependency="integration:test-hook", plan=skip).fallback is Fallback.FAILED
    result = execute_with_fallback(hook, dependency="integration:test-hook", plan=FallbackPlan(
        allow_skip=True, queue=JobRequest("test.sync", {"n": 4}, "sync-4")))
    assert result.fallback is Fallback.SKIPPED and len(calls) == 3 and result.job.status == "pending"
    # The worker skips it too while it keeps failing; the attempt is not used.
    assert queue.job_run(result.job.pk) == "released"
    result.job.refresh_from_db()
    assert result.job.attempts == 0 and result.job.last_error.startswith("skipped")


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_async_entry_point_queues_a_failed_call(work):
    async def broken():
        raise ConnectionError("down")

    result = await aexecute_with_fallback(broken, dependency="test-dep", plan=FallbackPlan(
        queue=JobRequest("test.work", {"n": 1}, "async-1")))
    assert result.fallback is Fallback.QUEUED and result.job.attempts == 1

    async def fine():
        return "ok"

    result = await aexecute_with_fallback(fine, dependency="test-dep", plan=FallbackPlan(
        queue=JobRequest("test.work", {"n": 2}, "async-2")))
    assert result.fallback is Fallback.NONE and work.applied == [({"n": 2}, "ok")]
