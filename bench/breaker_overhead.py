"""Per-call overhead of our circuit breaker against pybreaker with CircuitRedisStorage, on the
same Redis in the same run, with the breaker CLOSED and OPEN.

    make bench            # or: .venv/bin/python bench/breaker_overhead.py [--calls 20000]

Uses REDIS_URL when set, else starts an embedded Redis of its own (so no other client's
commands blur the round-trip count). Prints median and p99 microseconds per call and Redis
round trips (commands sent) per call.
"""
from __future__ import annotations

import argparse
from contextlib import ExitStack
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pybreaker
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_redis import bench_redis  # noqa: E402
from resilience.breakers import CircuitBreaker, CircuitOpenError, limits_of  # noqa: E402
from resilience.config import BreakerConfig  # noqa: E402
from resilience.store import (  # noqa: E402
    REDIS_BREAKER, FailoverBreakerStore, LocalBreakerStore, RedisBreakerStore, RedisHealth,
)


def noop() -> str:
    return "ok"


class RoundTrips:
    """Counts requests written to Redis by this process (a pipeline or a script is one)."""

    count = 0
    _send = redis.connection.Connection.send_packed_command

    @classmethod
    def install(cls) -> None:
        def counting_send(connection, command, check_health=True):
            cls.count += 1
            return cls._send(connection, command, check_health)

        redis.connection.Connection.send_packed_command = counting_send


def measure(call: Callable[[], object], calls: int) -> tuple[float, float, float]:
    for _ in range(200):  # warm up: scripts loaded, connections open
        call()
    samples = []
    before = RoundTrips.count
    for _ in range(calls):
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
    round_trips = (RoundTrips.count - before) / calls
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000, round_trips


def measure_paced(call: Callable[[], object], seconds: float, interval: float) -> tuple[float, float, float]:
    """Calls spread over several local-view periods, so refreshes and sent counts show up."""
    samples = []
    before = RoundTrips.count
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
        time.sleep(interval)
    round_trips = (RoundTrips.count - before) / len(samples)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000, round_trips


def ours(url: str, mirror_ttl: float) -> tuple[Callable[[], object], Callable[[], object], Callable[[], None]]:
    config = BreakerConfig(name="bench", failure_threshold=5, volume_threshold=10, window=60,
                           recovery_timeout=3600, call_timeout=10)
    local = LocalBreakerStore()
    health = RedisHealth(local, limits_of(BreakerConfig(name=REDIS_BREAKER)), lambda transition: None)
    store = FailoverBreakerStore(
        RedisBreakerStore(url, prefix=f"bench-{uuid.uuid4().hex[:8]}", mirror_ttl=mirror_ttl, health=health), local,
    )
    breaker = CircuitBreaker(config, store, listeners=[])

    def open_call() -> None:
        try:
            breaker.call_sync(noop)
        except CircuitOpenError:
            pass

    return (lambda: breaker.call_sync(noop)), open_call, breaker.force_open


def theirs(url: str) -> tuple[Callable[[], object], Callable[[], object], Callable[[], None]]:
    storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, redis.Redis.from_url(url),
                                            namespace=f"bench-{uuid.uuid4().hex[:8]}")
    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=3600, state_storage=storage)

    def open_call() -> None:
        try:
            breaker.call(noop)
        except pybreaker.CircuitBreakerError:
            pass

    return (lambda: breaker.call(noop)), open_call, breaker.open


OURS = "ours (Redis, 250 ms local view)"
THEIRS = "pybreaker + CircuitRedisStorage"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()

    redis_server = ExitStack()
    url = redis_server.enter_context(bench_redis(Path(tempfile.mkdtemp(prefix="bench-redis-"))))
    client = redis.Redis.from_url(url)
    RoundTrips.install()
    cases = (
        (OURS, lambda: ours(url, mirror_ttl=0.25)),
        ("ours, no local view (every decision)", lambda: ours(url, mirror_ttl=0)),
        (THEIRS, lambda: theirs(url)),
    )
    try:
        print(f"Redis: {url} ({client.info('server')['redis_version']}), {args.calls} calls per case")
        print("A call is two decisions (may I call? then record the outcome); an open call is one.\n")
        print(f"{'breaker':<46}{'state':<8}{'median µs':>10}{'p99 µs':>10}{'round trips/call':>18}")
        results = {}
        for label, factory in cases:
            closed_call, open_call, force_open = factory()
            for state, call in (("closed", closed_call), ("open", open_call)):
                if state == "open":
                    force_open()
                median, p99, trips = measure(call, args.calls)
                results[(label, state)] = median
                print(f"{label:<46}{state:<8}{median:>10.1f}{p99:>10.1f}{trips:>18.4f}")
            if label == OURS:
                median, p99, trips = measure_paced(factory()[0], seconds=2.0, interval=0.001)
                print(f"{'ours, paced 1 call/ms for 2 s':<46}{'closed':<8}{median:>10.1f}{p99:>10.1f}{trips:>18.4f}")
        print()
        for state in ("closed", "open"):
            ratio = results[(THEIRS, state)] / results[(OURS, state)]
            print(f"{state}: ours is {ratio:.1f}x lower overhead per call than pybreaker's Redis storage (median)")
    finally:
        client.close()
        redis_server.close()


if __name__ == "__main__":
    main()
