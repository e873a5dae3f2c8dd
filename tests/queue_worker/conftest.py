"""Fixtures of the queue-for-later tests: the webhook receiver (a real HTTP server standing in for
an integration) and real Celery processes on the real Redis broker."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.queue_worker.stack import QueueStack
from tests.webhook_receiver import RECEIVER_NETWORK, WebhookReceiver


@pytest.fixture
def receiver(settings) -> Iterator[WebhookReceiver]:
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]  # it listens on loopback
    with WebhookReceiver(secret="s3cret") as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_breakers(settings) -> None:
    """Breakers, skip counts and drain slots on a Redis prefix of this test's own (a QueueStack
    moves them to its own prefix again)."""
    settings.RESILIENCE_KEY_PREFIX = f"test-qw-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def queue_stack(transactional_db, settings, tmp_path) -> Iterator[Callable[..., QueueStack]]:
    """`queue_stack(**env)` -> a QueueStack; its processes stop before the test database is
    flushed (this fixture depends on `transactional_db`, so it is torn down first)."""
    stacks: list[QueueStack] = []

    def make(**env: str) -> QueueStack:
        stack = QueueStack(tmp_path, settings, **env)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
