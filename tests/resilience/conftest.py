"""Breakers are tested on every store, with a clock the test moves by hand."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings

from resilience.breakers import CircuitBreaker
from resilience.config import BreakerConfig
from resilience.store import LocalBreakerStore, RedisBreakerStore


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingListener:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_state_change(self, breaker, from_state, to_state, reason):
        self.events.append(("state", breaker, from_state, to_state, reason))

    def on_success(self, breaker):
        self.events.append(("success", breaker))

    def on_failure(self, breaker, outcome, error_type):
        self.events.append(("failure", breaker, outcome, error_type))

    def on_ignored(self, breaker, error_type):
        self.events.append(("ignored", breaker, error_type))

    def on_fallback(self, breaker, state):
        self.events.append(("fallback", breaker, state))

    def kinds(self) -> list[str]:
        return [event[0] for event in self.events]

    def transitions(self) -> list[tuple[str, str]]:
        return [(str(event[2]), str(event[3])) for event in self.events if event[0] == "state"]


def redis_store() -> RedisBreakerStore:
    return RedisBreakerStore(settings.REDIS_URL, prefix=f"test-{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["local", "redis"])
def store(request) -> Iterator[LocalBreakerStore | RedisBreakerStore]:
    yield LocalBreakerStore() if request.param == "local" else redis_store()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def listener() -> RecordingListener:
    return RecordingListener()


@pytest.fixture
def config() -> BreakerConfig:
    return BreakerConfig(name="dep", failure_threshold=3, volume_threshold=5, window=60,
                         recovery_timeout=30, call_timeout=0.2)


@pytest.fixture
def breaker(config, store, clock, listener) -> CircuitBreaker:
    return CircuitBreaker(config, store, clock=clock, listeners=[listener])


@pytest.fixture(autouse=True)
def fresh_breaker_registry(settings):
    """The project's breakers on a Redis prefix of this test's own, so tests start CLOSED."""
    settings.RESILIENCE_KEY_PREFIX = f"test-registry-{uuid.uuid4().hex[:12]}"
