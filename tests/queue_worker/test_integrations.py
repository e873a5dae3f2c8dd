"""Sending a finished presskit to the staff's integrations, in process, against a real webhook
receiver: the signed delivery, and what is queued when the service fails, is skipped, or
refuses the request. (A real worker draining the queue: test_worker.py.)"""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from presskit.integrations import JOB_TYPE, integrations_sync
from resilience import queue
from resilience.breakers import get_breaker
from resilience.fallbacks import Fallback
from resilience.machine import State
from resilience.models import QueuedJob
from tests.queue_worker.stack import integration_create, presskit_create, sync_key, sync_payload
from tests.webhook_receiver import RECEIVER_NETWORK, WebhookReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def queue_settings(settings) -> None:
    settings.QUEUE_BACKOFF_BASE = 10
    settings.QUEUE_BACKOFF_MAX = 100
    settings.QUEUE_MAX_ATTEMPTS = 3
    settings.INTEGRATION_SKIP_FAILURES = 3
    settings.INTEGRATION_SKIP_WINDOW = 300


def job_of(integration, presskit) -> QueuedJob:
    return QueuedJob.objects.get(idempotency_key=sync_key(sync_payload(integration, presskit)))


def make_due(job: QueuedJob) -> None:
    QueuedJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())


def test_a_delivery_is_signed_and_carries_its_idempotency_key(receiver):
    integration = integration_create(receiver.url, secret="s3cret")
    presskit = presskit_create()

    results = integrations_sync(presskit_id=str(presskit.pk))

    assert results["booking"].fallback is Fallback.NONE
    [delivery] = receiver.deliveries()
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.key == f"sync:booking:{presskit.pk}:{presskit.updated_at.isoformat()}"
    assert delivery.verified and delivery.applied
    assert delivery.json()["delivery"] == delivery.key  # the key a receiver de-duplicates on is signed
    document = delivery.json()
    assert document["event"] == "presskit.completed"
    assert document["presskit"]["id"] == str(presskit.pk) and document["presskit"]["artist_name"] == "Luna Roja"
    assert receiver.applied == {delivery.key: 1}
    job = job_of(integration, presskit)
    assert job.status == "done" and job.attempts == 1

    # The same presskit version again: its job is done, so nothing is sent twice.
    again = integrations_sync(presskit_id=str(presskit.pk))
    assert again["booking"].fallback is Fallback.NONE and len(receiver.deliveries()) == 1


def test_an_unsigned_integration_sends_no_signature(settings):
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    with WebhookReceiver() as receiver:  # one that takes unsigned deliveries
        integration_create(receiver.url, secret="")
        integrations_sync(presskit_id=str(presskit_create().pk))
    [delivery] = receiver.deliveries()
    assert "x-presskit-signature" not in delivery.headers and delivery.key and delivery.applied


def test_a_server_error_queues_the_send_with_a_backoff(receiver):
    integration = integration_create(receiver.url)
    presskit = presskit_create()
    receiver.fail(500)
    before = timezone.now()

    result = integrations_sync(presskit_id=str(presskit.pk))["booking"]

    assert result.fallback is Fallback.QUEUED and result.error == "HTTPStatusError (HTTP 500)"
    job = job_of(integration, presskit)
    assert job.job_type == JOB_TYPE and job.dependency == "integration:booking"
    assert job.priority == QueuedJob.Priority.LOW and job.owner == f"presskit:{presskit.pk}"
    assert job.status == "failed" and job.attempts == 1 and job.last_error == "HTTPStatusError (HTTP 500)"
    # Equal jitter on a 10 s base: due again between 5 and 10 s from the failure.
    assert before + timedelta(seconds=5) <= job.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    assert len(receiver.deliveries()) == 1 and not receiver.applied

    # Retried once the service is back: delivered with the same key, applied once.
    receiver.clear()
    make_due(job)
    assert queue.job_run(job.pk) == "done"
    keys = [delivery.key for delivery in receiver.deliveries()]
    assert keys == [job.idempotency_key] * 2 and receiver.applied == {job.idempotency_key: 1}


def test_three_failures_in_the_window_skip_the_fourth_send_and_queue_it(receiver):
    integration = integration_create(receiver.url)
    receiver.fail(503)
    presskits = [presskit_create(f"Artista {n}") for n in range(4)]

    outcomes = [integrations_sync(presskit_id=str(presskit.pk))["booking"].fallback for presskit in presskits]

    assert outcomes == [Fallback.QUEUED] * 3 + [Fallback.SKIPPED]
    assert len(receiver.deliveries()) == 3  # the fourth was not even tried
    skipped = job_of(integration, presskits[3])
    assert skipped.status == "pending" and skipped.attempts == 0
    assert {job.status for job in QueuedJob.objects.exclude(pk=skipped.pk)} == {"failed"}

    # A worker given the skipped job defers it without a request and without using an attempt.
    assert queue.job_run(skipped.pk) == "released"
    skipped.refresh_from_db()
    assert skipped.attempts == 0 and skipped.last_error.startswith("skipped")
    assert skipped.next_attempt_at > timezone.now() + timedelta(seconds=250)
    assert len(receiver.deliveries()) == 3


def test_a_client_error_does_not_count_against_the_breaker_but_the_job_fails_until_dead(receiver):
    integration = integration_create(receiver.url)
    presskit = presskit_create()
    receiver.fail(404)

    result = integrations_sync(presskit_id=str(presskit.pk))["booking"]

    assert result.fallback is Fallback.QUEUED and result.error == "HTTPStatusError (HTTP 404)"
    breaker = get_breaker(integration.dependency)
    job = job_of(integration, presskit)
    assert job.status == "failed" and job.attempts == 1
    for expected in ("failed", "dead"):  # QUEUE_MAX_ATTEMPTS = 3
        make_due(job)
        assert queue.job_run(job.pk) == expected
    job.refresh_from_db()
    assert job.status == "dead" and job.attempts == 3 and job.last_error == "HTTPStatusError (HTTP 404)"
    assert job.finished_at is not None and job.result is None
    assert len(receiver.deliveries()) == 3 and not receiver.applied
    # Three 404s would have opened it (threshold 3 of 3): they were not counted.
    snapshot = breaker.snapshot()
    assert snapshot.state is State.CLOSED


def test_a_server_error_counts_against_the_breaker(receiver):
    """The counterpart of the 404 case: the same three failures as 500s open the breaker."""
    integration = integration_create(receiver.url)
    receiver.fail(500)
    for n in range(3):
        integrations_sync(presskit_id=str(presskit_create(f"Artista {n}").pk))
    assert get_breaker(integration.dependency).state is State.OPEN


def test_a_disabled_integration_is_not_sent_to(receiver):
    integration_create(receiver.url, name="off", enabled=False)
    live = integration_create(receiver.url, name="live")
    presskit = presskit_create()

    results = integrations_sync(presskit_id=str(presskit.pk))

    assert list(results) == ["live"]
    assert [delivery.key for delivery in receiver.deliveries()] == [sync_key(sync_payload(live, presskit))]
    assert not QueuedJob.objects.filter(payload__integration="off").exists()


def test_a_queued_send_for_an_integration_disabled_since_is_not_sent(receiver):
    integration = integration_create(receiver.url)
    presskit = presskit_create()
    receiver.fail(503)
    integrations_sync(presskit_id=str(presskit.pk))
    integration.enabled = False
    integration.save()
    receiver.clear()
    job = job_of(integration, presskit)
    make_due(job)

    assert queue.job_run(job.pk) == "done"  # nothing to do: done, not retried
    job.refresh_from_db()
    assert job.status == "done" and job.attempts == 2
    assert len(receiver.deliveries()) == 1  # only the first, failed, try


def test_client_errors_do_not_make_the_integration_skipped(receiver):
    """A 404/422 is about the request, not the service (the breaker does not count it): three
    of them must not take the integration out for everyone for INTEGRATION_SKIP_WINDOW."""
    integration_create(receiver.url)
    receiver.fail(422, times=3)
    for n in range(3):
        integrations_sync(presskit_id=str(presskit_create(f"Artista {n}").pk))

    result = integrations_sync(presskit_id=str(presskit_create("Artista 3").pk))["booking"]

    assert result.fallback is Fallback.NONE and len(receiver.deliveries()) == 4
