"""A real Celery worker left idle between jobs for longer than twice the longest blocking read
the stack makes on Redis (tests.servers.IDLE_SECONDS) still runs the next task: the twin of
tests/test_idle_connections.py for the broker's clients (kombu's BRPOP and pub/sub)."""
from __future__ import annotations

import pytest

from presskit.integrations import integrations_sync
from resilience.breakers import get_breaker
from resilience.fallbacks import Fallback
from resilience.tasks import queue_drain
from tests.queue_worker.stack import integration_create, presskit_create
from tests.queue_worker.test_worker import statuses, wait_until
from tests.servers import IDLE_SECONDS, REDIS_TROUBLE

pytestmark = [pytest.mark.subprocess, pytest.mark.idle, pytest.mark.django_db(transaction=True)]


def test_an_idle_celery_worker_still_runs_the_next_task(queue_stack, receiver):
    stack = queue_stack()
    integration = integration_create(receiver.url)
    get_breaker(integration.dependency).force_open()
    presskit = presskit_create("Luna Roja")
    assert integrations_sync(presskit_id=str(presskit.pk))["booking"].fallback is Fallback.QUEUED
    worker = stack.start_worker()

    # No beat: nothing reaches the worker while it waits on the broker.
    with pytest.raises(AssertionError):
        wait_until(lambda: worker.process.poll() is not None, IDLE_SECONDS, "worker exit")

    get_breaker(integration.dependency).reset()
    queue_drain.delay()
    wait_until(lambda: statuses() == {"done": 1}, 20, "the queued send done by the idle worker", stack)
    assert len(receiver.deliveries()) == 1
    assert not REDIS_TROUBLE.search(worker.output), stack.output()
