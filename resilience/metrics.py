"""Prometheus metrics for the breakers, read from the shared store at scrape time.

Counts live in Redis (every process adds to them), so any process's /metrics tells the same
story without prometheus-client's multiprocess mode. The queued jobs are counted in the
database, also at scrape time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from resilience.machine import Snapshot, State

logger = logging.getLogger(__name__)

# circuit_breaker_state: 0 closed, 1 open, 2 half-open (DESIGN.md); forced states read as
# what they do, and `circuit_breaker_forced` says a person set them.
STATE_VALUES = {State.CLOSED: 0, State.OPEN: 1, State.HALF_OPEN: 2, State.FORCED_OPEN: 1, State.FORCED_CLOSED: 0}


class BreakerCollector(Collector):
    def __init__(self, snapshots: Callable[[], list[Snapshot]]) -> None:
        self.snapshots = snapshots

    def collect(self) -> Iterable[Metric]:
        state = GaugeMetricFamily("circuit_breaker_state", "0 closed, 1 open, 2 half-open", labels=["breaker"])
        forced = GaugeMetricFamily("circuit_breaker_forced", "1 when staff forced the state", labels=["breaker"])
        calls = CounterMetricFamily("circuit_breaker_calls", "Calls let through", labels=["breaker"])
        failures = CounterMetricFamily("circuit_breaker_failures", "Failed calls (timeouts included)",
                                       labels=["breaker"])
        timeouts = CounterMetricFamily("circuit_breaker_timeouts", "Calls over the call timeout", labels=["breaker"])
        fallbacks = CounterMetricFamily("circuit_breaker_fallback_calls", "Fallbacks served", labels=["breaker"])
        changes = CounterMetricFamily("circuit_breaker_state_changes", "State changes", labels=["breaker"])
        for snapshot in self.snapshots():
            labels = [snapshot.name]
            state.add_metric(labels, STATE_VALUES[snapshot.state])
            forced.add_metric(labels, int(snapshot.state in (State.FORCED_OPEN, State.FORCED_CLOSED)))
            calls.add_metric(labels, snapshot.calls)
            failures.add_metric(labels, snapshot.failures)
            timeouts.add_metric(labels, snapshot.timeouts)
            fallbacks.add_metric(labels, snapshot.fallbacks)
            changes.add_metric(labels, snapshot.state_changes)
        yield from (state, forced, calls, failures, timeouts, fallbacks, changes)


class LevelState(Protocol):
    """What the degradation collector reads (resilience.degradation.DegradationState)."""

    @property
    def level(self) -> int: ...

    @property
    def forced(self) -> bool: ...


class DegradationCollector(Collector):
    """`degradation_level` (0 optimal .. 4 emergency) read from the shared store at scrape time."""

    def __init__(self, current: Callable[[], LevelState]) -> None:
        self.current = current

    def collect(self) -> Iterable[Metric]:
        state = self.current()
        yield GaugeMetricFamily("degradation_level", "0 optimal, 1 degraded, 2 limited, 3 minimal, 4 emergency",
                                value=int(state.level))
        yield GaugeMetricFamily("degradation_forced", "1 when staff forced the level", value=int(state.forced))


class QueuedJobCollector(Collector):
    """`queued_jobs` by status and job type, counted at scrape time. Every status is exported
    for every job type that has rows (zeros included), so a count that drops to nothing reads 0.

    `counts` returns {(status, job_type): n}; `unavailable` are the errors that mean "the
    database cannot be read now": the gauge is then left out of the scrape (the other metrics
    stay), and the trouble is logged once, when it starts."""

    def __init__(self, counts: Callable[[], Mapping[tuple[str, str], int]], statuses: Iterable[str], *,
                 unavailable: tuple[type[BaseException], ...]) -> None:
        self.counts = counts
        self.statuses = list(statuses)
        self.unavailable = unavailable
        self.failing = False

    def describe(self) -> Iterable[Metric]:
        # Registration must not read the database (it may not exist yet while apps load).
        yield self._family()

    def collect(self) -> Iterable[Metric]:
        try:
            counts = self.counts()
        except self.unavailable as error:
            if not self.failing:
                logger.warning("queued_jobs left out of the metrics: database unreadable (%s)", type(error).__name__)
            self.failing = True
            return
        if self.failing:
            logger.info("queued_jobs back in the metrics: the database answers again")
            self.failing = False
        family = self._family()
        for job_type in sorted({job_type for _, job_type in counts}):
            for status in self.statuses:
                family.add_metric([status, job_type], counts.get((status, job_type), 0))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("queued_jobs", "Queued jobs by status and job type", labels=["status", "job_type"])


# AI requests, counted by the process that made them (DESIGN.md's names). Per process: with
# several Daphne processes, Prometheus sums them by instance; the request log has the totals.
AI_REQUESTS = Counter("ai_requests", "AI requests by provider and status", ["provider", "status"])
AI_REQUEST_DURATION = Histogram("ai_request_duration_seconds", "AI request latency by provider", ["provider"],
                                buckets=(0.1, 0.25, 0.5, 1, 1.5, 2.5, 4, 6, 10, 15))


def ai_request_observe(provider: str, status: str, seconds: float) -> None:
    AI_REQUESTS.labels(provider=provider, status=status).inc()
    if status != "refused":  # never sent: no duration to speak of
        AI_REQUEST_DURATION.labels(provider=provider).observe(seconds)
