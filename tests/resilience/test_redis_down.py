"""Redis dies mid-run: breakers keep deciding in each process, the `redis` breaker opens, and
shared state resumes when Redis is back."""
from __future__ import annotations

import time
import uuid

import pytest

from presskit.embedded_redis import EmbeddedRedis
from resilience.breakers import CircuitBreaker, CircuitOpenError, limits_of
from resilience.config import BreakerConfig
from resilience.machine import State
from resilience.store import REDIS_BREAKER, FailoverBreakerStore, LocalBreakerStore, RedisBreakerStore, RedisHealth
from tests.resilience.conftest import FakeClock


@pytest.fixture
def redis_server(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis", persistent=False)
    server.start()
    yield server
    server.stop()


def ok() -> str:
    return "ok"


def broken() -> str:
    raise RuntimeError("dependency down")


def test_breakers_survive_redis_going_away_and_coming_back(redis_server, tmp_path):
    clock = FakeClock()
    redis_transitions = []
    local = LocalBreakerStore()
    health = RedisHealth(
        local,
        limits_of(BreakerConfig(name=REDIS_BREAKER, failure_threshold=2, volume_threshold=2, window=60,
                                recovery_timeout=5, call_timeout=1)),
        lambda transition: redis_transitions.append((transition.from_state, transition.to_state)),
        clock=clock,
    )
    store = FailoverBreakerStore(
        RedisBreakerStore(redis_server.url, prefix=f"test-{uuid.uuid4().hex[:8]}", socket_timeout=0.2,
                          health=health, mirror_clock=clock),
        local,
    )
    config = BreakerConfig(name="openai", failure_threshold=2, volume_threshold=2, window=60,
                           recovery_timeout=30, call_timeout=5)
    breaker = CircuitBreaker(config, store, clock=clock, listeners=[])
    for _ in range(3):
        assert breaker.call_sync(ok) == "ok"
    assert store.shared.snapshots(["openai"])[0].successes == 3  # shared, in Redis

    redis_server.stop()
    for _ in range(5):  # nothing fails because Redis is gone
        clock.advance(0.3)  # past the store's view of the state: each call needs Redis
        assert breaker.call_sync(ok) == "ok"
    assert redis_transitions == [(State.CLOSED, State.OPEN)]
    started = time.monotonic()
    for _ in range(100):
        breaker.call_sync(ok)
    assert time.monotonic() - started < 1.0  # the open `redis` breaker skips Redis entirely

    for _ in range(2):  # the dependency fails: the breaker still opens, in this process
        breaker.call_sync(broken, fallback=lambda error: "fallback")
    with pytest.raises(CircuitOpenError):
        breaker.call_sync(ok)
    assert store.snapshots([REDIS_BREAKER])[0].state is State.OPEN

    restarted = EmbeddedRedis(tmp_path / "redis-again", persistent=False, port=redis_server.port)
    restarted.start()
    try:
        clock.advance(6)  # the `redis` breaker's recovery timeout: one probe goes to Redis
        assert breaker.call_sync(ok) == "ok"  # shared state again: Redis has openai CLOSED
        assert redis_transitions[-2:] == [(State.OPEN, State.HALF_OPEN), (State.HALF_OPEN, State.CLOSED)]
        assert store.shared.snapshots(["openai"])[0].calls == 1
        assert breaker.state is State.CLOSED
    finally:
        restarted.stop()
