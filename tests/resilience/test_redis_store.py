"""The Redis store's local view: decisions without round trips while the view is fresh, and
other processes' transitions seen once it is not."""
from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from resilience.breakers import CircuitBreaker, CircuitOpenError, limits_of
from resilience.config import BreakerConfig
from resilience.machine import State
from resilience.store import REDIS_BREAKER, LocalBreakerStore, RedisBreakerStore, RedisHealth
from tests.resilience.conftest import FakeClock

CONFIG = BreakerConfig(name="dep", failure_threshold=2, volume_threshold=2, window=60, recovery_timeout=30,
                       call_timeout=5)


class CountingHealth(RedisHealth):
    """Counts the requests a store sends to Redis."""

    def __init__(self, clock) -> None:
        super().__init__(LocalBreakerStore(), limits_of(BreakerConfig(name=REDIS_BREAKER)), lambda t: None, clock)
        self.requests = 0

    def guarded(self, request):
        self.requests += 1
        return super().guarded(request)


@pytest.fixture
def prefix() -> str:
    return f"test-view-{uuid.uuid4().hex[:8]}"


def process(prefix: str, clock: FakeClock) -> tuple[CircuitBreaker, CountingHealth]:
    """A breaker as another process would have it: its own store object on the same Redis."""
    health = CountingHealth(clock)
    store = RedisBreakerStore(settings.REDIS_URL, prefix=prefix, mirror_ttl=0.25, health=health, mirror_clock=clock)
    return CircuitBreaker(CONFIG, store, clock=clock, listeners=[]), health


def broken() -> None:
    raise RuntimeError("down")


def test_closed_calls_need_no_round_trip_while_the_view_is_fresh(prefix):
    clock = FakeClock()
    breaker, health = process(prefix, clock)
    breaker.call_sync(lambda: "ok")  # learns the state (and opens the window)
    before = health.requests
    for _ in range(500):
        breaker.call_sync(lambda: "ok")
    assert health.requests == before
    assert breaker.snapshot().successes == 501  # the counts kept back are sent when read


def test_another_process_sees_a_transition_once_its_view_expires(prefix):
    clock = FakeClock()
    first, _ = process(prefix, clock)
    second, second_health = process(prefix, clock)
    second.call_sync(lambda: "ok")  # second now believes CLOSED
    for _ in range(2):
        first.call_sync(broken, fallback=lambda error: None)
    assert first.state is State.OPEN
    assert second.call_sync(lambda: "still closed here") == "still closed here"  # within 250 ms
    clock.advance(0.3)
    with pytest.raises(CircuitOpenError):
        second.call_sync(lambda: "refused")
    before = second_health.requests
    for _ in range(100):  # and now refuses locally until the recovery timeout
        with pytest.raises(CircuitOpenError):
            second.call_sync(lambda: "refused")
    assert second_health.requests == before


def test_the_half_open_probe_is_always_decided_by_redis(prefix):
    clock = FakeClock()
    first, _ = process(prefix, clock)
    second, _ = process(prefix, clock)
    for _ in range(2):
        first.call_sync(broken, fallback=lambda error: None)
    clock.advance(31)
    probe = first.attempt_sync()
    probe.__enter__()
    with pytest.raises(CircuitOpenError):
        second.call_sync(lambda: "second probe")
    probe.__exit__(None, None, None)
    assert first.state is State.CLOSED
    clock.advance(0.3)
    assert second.call_sync(lambda: "closed again") == "closed again"


def test_a_success_that_may_complete_the_volume_goes_to_redis(prefix):
    clock = FakeClock()
    breaker, _ = process(prefix, clock)
    config = BreakerConfig(name="dep", failure_threshold=2, volume_threshold=3, window=60,
                           recovery_timeout=30, call_timeout=5)
    breaker = CircuitBreaker(config, breaker.store, clock=clock, listeners=[])
    for _ in range(2):
        breaker.call_sync(broken, fallback=lambda error: None)
    assert breaker.state is State.CLOSED  # 2 failures, 2 calls < 3
    breaker.call_sync(lambda: "ok")
    assert breaker.state is State.OPEN  # the success completed the volume


def test_successes_kept_back_do_not_join_a_window_that_ended(prefix):
    clock = FakeClock()
    config = BreakerConfig(name="dep", failure_threshold=2, volume_threshold=10, window=60, recovery_timeout=30,
                           call_timeout=5)
    first, _ = process(prefix, clock)
    second, _ = process(prefix, clock)
    first, second = (CircuitBreaker(config, breaker.store, clock=clock, listeners=[]) for breaker in (first, second))
    for _ in range(9):
        first.call_sync(lambda: "ok")  # kept back in the first process, window W1
    clock.advance(61)
    for _ in range(2):  # the second process starts window W2 with two failures
        second.call_sync(broken, fallback=lambda error: None)
    clock.advance(0.3)
    first.call_sync(lambda: "ok")  # refreshes: its old successes reach Redis, outside W2
    second.call_sync(broken, fallback=lambda error: None)
    assert second.state is State.CLOSED  # 4 calls in W2, not 13
    assert first.snapshot().successes == 10  # but every success is counted


def test_a_result_that_cannot_reach_redis_decides_nothing_locally(tmp_path):
    from presskit.embedded_redis import EmbeddedRedis
    from resilience.store import FailoverBreakerStore

    server = EmbeddedRedis(tmp_path / "redis", persistent=False)
    server.start()
    clock = FakeClock()
    local = LocalBreakerStore()
    shared = RedisBreakerStore(server.url, prefix="gone", socket_timeout=0.2, mirror_clock=clock,
                               health=RedisHealth(local, limits_of(BreakerConfig(name=REDIS_BREAKER)), lambda t: None,
                                                  clock))
    store = FailoverBreakerStore(shared, local)
    config = BreakerConfig(name="dep", failure_threshold=1, volume_threshold=1, window=60, recovery_timeout=30,
                           call_timeout=5)
    breaker = CircuitBreaker(config, store, clock=clock, listeners=[])
    attempt = breaker.attempt_sync()
    attempt.__enter__()  # a shared permit
    server.stop()
    with pytest.raises(RuntimeError):
        with attempt:
            raise RuntimeError("down")
    assert local.snapshots(["dep"])[0].failures == 1
    assert local.snapshots(["dep"])[0].state is State.CLOSED  # counted, decided nothing
