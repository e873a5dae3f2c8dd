"""Several processes hammer HALF_OPEN breakers on real Redis at once: exactly one probe each."""
from __future__ import annotations

import multiprocessing
import uuid
from collections import Counter

from django.conf import settings

from resilience.breakers import CircuitBreaker, CircuitOpenError
from resilience.config import BreakerConfig
from resilience.machine import State
from resilience.store import RedisBreakerStore

PROCESSES = 8
ROUNDS = 20
OPENED_AT = 1_800_000_000.0


def breaker_config(name: str) -> BreakerConfig:
    return BreakerConfig(name=name, failure_threshold=1, volume_threshold=1, window=60,
                         recovery_timeout=30, call_timeout=10)


def dependency_down() -> None:
    raise RuntimeError("down")


def contend(url: str, prefix: str, names: list[str], barrier, results) -> None:
    """In a child process: at each round, all processes ask for a call at the same moment."""
    store = RedisBreakerStore(url, prefix=prefix)
    for name in names:
        breaker = CircuitBreaker(breaker_config(name), store, clock=lambda: OPENED_AT + 31, listeners=[])
        barrier.wait(timeout=30)
        try:
            breaker.attempt_sync().__enter__()  # the probe holds its turn: never settles here
            results.put((name, "probe"))
        except CircuitOpenError:
            results.put((name, "refused"))


def test_exactly_one_probe_across_processes():
    prefix = f"test-race-{uuid.uuid4().hex[:8]}"
    store = RedisBreakerStore(settings.REDIS_URL, prefix=prefix)
    names = [f"race-{round_}" for round_ in range(ROUNDS)]
    for name in names:
        breaker = CircuitBreaker(breaker_config(name), store, clock=lambda: OPENED_AT, listeners=[])
        breaker.call_sync(dependency_down, fallback=lambda error: None)
        assert breaker.state is State.OPEN

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [context.Process(target=contend, args=(settings.REDIS_URL, prefix, names, barrier, results))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = Counter(results.get(timeout=60) for _ in range(PROCESSES * ROUNDS))
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    for name in names:
        assert outcomes[(name, "probe")] == 1, name
        assert outcomes[(name, "refused")] == PROCESSES - 1, name
    assert all(snapshot.state is State.HALF_OPEN for snapshot in store.snapshots(names))
