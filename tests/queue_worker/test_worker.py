"""The queue for later with real processes: a Celery worker (`celery -A presskit worker`, not eager
mode) and Celery beat on the real Redis broker and the test database, sending presskits to a
real webhook receiver through the real job type (`presskit.integration_sync`).

The drain runs as it does in production: beat sends `queue_drain` every QUEUE_DRAIN_INTERVAL
(0.5 s here) and a worker runs it; the jobs it hands out go to the worker as `queue_job_run`
messages with a countdown to their slot. Each test's processes use a Redis key prefix of their
own (tests/queue_worker/stack.py).
"""
from __future__ import annotations

import json
import re
import signal
import statistics
import time
from collections.abc import Callable

import pytest

from presskit.integrations import integrations_sync
from resilience.breakers import get_breaker
from resilience.fallbacks import Fallback
from resilience.models import QueuedJob
from resilience.queue import Priority, job_enqueue
from resilience.tasks import queue_job_run
from tests.queue_worker.stack import integration_create, presskit_create, sync_request

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

# Failures must reach the worker (no breaker, no skip in the way) where a test counts attempts.
NEVER_OPENS = json.dumps({"integration:booking": {"failure_threshold": 1000, "volume_threshold": 1000}})
NEVER_SKIPS = "1000"


def wait_until(condition: Callable[[], bool], timeout: float, what: str, stack=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s\n{stack.output() if stack else ''}")


def statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in QueuedJob.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def drains_run(stack) -> int:
    return sum(len(re.findall(r"Task resilience\.tasks\.queue_drain\[\S+\] succeeded", worker.output))
               for worker in stack.workers)


def test_queued_sends_wait_for_the_breaker_and_drain_once_it_closes(queue_stack, receiver):
    stack = queue_stack()
    integration = integration_create(receiver.url)
    breaker = get_breaker(integration.dependency)
    breaker.force_open()  # staff take the integration out
    presskits = [presskit_create(f"Artista {n}") for n in range(6)]
    for presskit in presskits:
        assert integrations_sync(presskit_id=str(presskit.pk))["booking"].fallback is Fallback.QUEUED
    worker = stack.start_worker(concurrency=2)
    stack.start_beat()

    # Several drains run while it is open: they hand nothing out (not even jobs the worker would
    # then refuse), and nothing reaches the receiver.
    wait_until(lambda: drains_run(stack) >= 4, 15, "four drains", stack)
    assert not re.search(r"queue_job_run\[", worker.output)
    assert receiver.deliveries() == []
    assert statuses() == {"pending": 6}

    breaker.reset()
    wait_until(lambda: statuses() == {"done": 6}, 20, "all sends done", stack)
    keys = [job.idempotency_key for job in QueuedJob.objects.all()]
    assert sorted(receiver.applied) == sorted(keys) and set(receiver.applied.values()) == {1}
    assert sorted(delivery.key for delivery in receiver.deliveries()) == sorted(keys)  # each sent once
    assert set(QueuedJob.objects.values_list("attempts", flat=True)) == {1}


def test_failures_open_the_breaker_the_queue_waits_then_one_probe_and_the_rest(queue_stack, receiver):
    # The breaker opens after 3 failures and lets one probe through 2 s later. The skip rule is
    # off here so the breaker alone decides (with it, the skip would defer the probe too).
    stack = queue_stack(BREAKER_OVERRIDES=json.dumps({"integration:booking": {"recovery_timeout": 2}}),
                        INTEGRATION_SKIP_FAILURES=NEVER_SKIPS, QUEUE_BACKOFF_BASE="0.2")
    integration = integration_create(receiver.url)
    receiver.fail(503)
    for n in range(8):
        job_enqueue(sync_request(integration, presskit_create(f"Artista {n}")))
    stack.start_worker(concurrency=1)
    stack.start_beat()

    receiver.wait_for(lambda r: len(r.requests) >= 3, timeout=15)
    opened = time.time()
    time.sleep(1.0)  # open: the drain holds the rest back, the worker refuses what it had
    assert len(receiver.deliveries()) == 3 and not receiver.applied
    receiver.clear()  # the service is back

    wait_until(lambda: statuses() == {"done": 8}, 25, "all sends done", stack)
    deliveries = receiver.deliveries()
    assert [delivery.status for delivery in deliveries[:3]] == [503] * 3
    # The first request after the failures is the probe, once the recovery timeout has passed.
    assert deliveries[3].at >= opened + 2 - 0.2
    assert len(deliveries) == 11 and set(receiver.applied.values()) == {1} and len(receiver.applied) == 8
    attempts = sorted(QueuedJob.objects.values_list("attempts", flat=True))
    assert attempts == [1] * 5 + [2] * 3  # refusals by the open breaker used no attempt


def test_the_drain_hands_out_high_before_medium_before_low(queue_stack, receiver):
    stack = queue_stack(QUEUE_RATE_LIMITS=json.dumps({"integration": 4}))
    integration = integration_create(receiver.url)
    expected: dict[int, list[str]] = {Priority.HIGH: [], Priority.MEDIUM: [], Priority.LOW: []}
    for n in range(3):  # queued interleaved: low, medium, high, low, …
        for priority in (Priority.LOW, Priority.MEDIUM, Priority.HIGH):
            job, _ = job_enqueue(sync_request(integration, presskit_create(f"Artista {n}-{priority}"),
                                              priority=priority))
            expected[priority].append(job.idempotency_key)
    stack.start_worker(concurrency=1)
    stack.start_beat()

    receiver.wait_for(lambda r: len(r.requests) == 9, timeout=20)
    order = [delivery.key for delivery in receiver.deliveries()]
    assert order == expected[Priority.HIGH] + expected[Priority.MEDIUM] + expected[Priority.LOW]
    # …and at the rate, 4 per second: a slot every 0.25 s. A send can only leave late (a cold
    # worker's first tasks, a loaded machine), which shortens the gaps before it and never the
    # typical one; without the limit all nine would leave within a fraction of a second.
    times = [delivery.at for delivery in receiver.deliveries()]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert statistics.median(gaps) >= 0.25 - 0.05, gaps
    assert times[-1] - times[0] >= 8 / 4 / 2, gaps


def test_failed_attempts_back_off_exponentially_with_jitter(queue_stack, receiver):
    base = 0.6
    stack = queue_stack(QUEUE_BACKOFF_BASE=str(base), QUEUE_MAX_ATTEMPTS="5", QUEUE_DRAIN_INTERVAL="0.2",
                        BREAKER_OVERRIDES=NEVER_OPENS, INTEGRATION_SKIP_FAILURES=NEVER_SKIPS)
    integration = integration_create(receiver.url)
    receiver.fail(500)
    job, _ = job_enqueue(sync_request(integration, presskit_create()))
    stack.start_worker(concurrency=1)
    stack.start_beat()

    receiver.wait_for(lambda r: len(r.requests) == 5, timeout=30)
    times = [delivery.at for delivery in receiver.deliveries()]
    print("GAPS", [round(b - a, 3) for a, b in zip(times, times[1:])])
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    for attempt, gap in enumerate(gaps, start=1):
        delay = base * 2 ** (attempt - 1)
        # Equal jitter: between half and all of the delay; then up to one drain interval until
        # the drain sees it due, plus the drain's and the worker's own time.
        assert delay / 2 <= gap <= delay + 0.2 + 0.5, (attempt, gaps)
    assert gaps[3] > 1.5 * gaps[0], gaps  # it grows
    wait_until(lambda: QueuedJob.objects.get(pk=job.pk).status == "dead", 5, "dead letter", stack)


def test_a_job_out_of_attempts_is_dead_lettered_without_artist_content(queue_stack, receiver):
    stack = queue_stack(QUEUE_MAX_ATTEMPTS="3", QUEUE_BACKOFF_BASE="0.2", BREAKER_OVERRIDES=NEVER_OPENS,
                        INTEGRATION_SKIP_FAILURES=NEVER_SKIPS)
    integration = integration_create(receiver.url)
    presskit = presskit_create("Luna Roja")
    receiver.fail(503)
    result = integrations_sync(presskit_id=str(presskit.pk))["booking"]  # attempt 1, in the request
    assert result.fallback is Fallback.QUEUED
    stack.start_worker(concurrency=1)
    stack.start_beat()

    wait_until(lambda: QueuedJob.objects.get(pk=result.job.pk).status == "dead", 20, "dead letter", stack)
    job = QueuedJob.objects.get(pk=result.job.pk)
    assert job.attempts == 3 and job.finished_at is not None
    assert job.last_error == "HTTPStatusError (HTTP 503)"
    time.sleep(1.0)  # a dead job is not tried again
    assert len(receiver.deliveries()) == 3 and not receiver.applied
    for text in (presskit.artist_name, presskit.story, presskit.booking_email, presskit.long_bio):
        assert text not in job.last_error and text not in stack.output()


def test_a_worker_killed_mid_job_loses_nothing_and_the_job_takes_effect_once(queue_stack, receiver):
    stack = queue_stack(QUEUE_JOB_LEASE="4", CELERY_TASK_TIME_LIMIT="3", CELERY_TASK_SOFT_TIME_LIMIT="2")
    integration = integration_create(receiver.url)
    # The first delivery takes effect at the receiver, then its answer is held: the worker is
    # killed before it hears back, so it cannot record that the send was done.
    receiver.hang(times=1, apply_first=True, timeout=15)
    job, _ = job_enqueue(sync_request(integration, presskit_create()))
    worker = stack.start_worker(concurrency=1, name="doomed")
    stack.start_beat()

    receiver.wait_for(lambda r: len(r.requests) == 1, timeout=15)
    job.refresh_from_db()
    assert job.status == "running" and job.attempts == 1
    worker.signal_group(signal.SIGKILL)  # the worker's main process and its pool child
    worker.process.wait(timeout=10)
    receiver.release()
    stack.start_worker(concurrency=1, name="fresh")

    # Its lease runs out (4 s), the drain frees the job and hands it to the new worker.
    wait_until(lambda: QueuedJob.objects.get(pk=job.pk).status == "done", 25, "job done", stack)
    job.refresh_from_db()
    assert job.attempts == 2 and job.last_error == ""
    # The receiver saw the key twice (the killed worker's send did reach it, its answer did not
    # reach the worker), and applied it once: the Idempotency-Key is the same on every try.
    assert receiver.seen(job.idempotency_key) == 2
    assert receiver.applied == {job.idempotency_key: 1}


def test_the_same_message_delivered_twice_sends_once(queue_stack, receiver):
    stack = queue_stack()  # no beat: only the two messages the test sends
    integration = integration_create(receiver.url)
    receiver.latency(0.5)  # the second message arrives while the first holds the job
    job, _ = job_enqueue(sync_request(integration, presskit_create()))
    worker = stack.start_worker(concurrency=2)

    queue_job_run.apply_async(args=[job.pk])
    queue_job_run.apply_async(args=[job.pk])
    wait_until(lambda: QueuedJob.objects.get(pk=job.pk).status == "done", 15, "job done", stack)
    queue_job_run.apply_async(args=[job.pk])  # and once more after it is done
    wait_until(lambda: len(re.findall(r"queue_job_run\[\S+\] succeeded", worker.output)) == 3, 10,
               "three runs", stack)

    job.refresh_from_db()
    assert job.attempts == 1
    assert receiver.seen(job.idempotency_key) == 1 and receiver.applied == {job.idempotency_key: 1}
    results = re.findall(r"queue_job_run\[\S+\] succeeded in \S+: '(\w+)'", worker.output)
    assert sorted(results) == ["done", "skipped", "skipped"]
