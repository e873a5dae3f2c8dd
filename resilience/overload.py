"""Load shedding by event-loop lag and thread-pool wait: when a process runs late, newcomers wait outside.

Every chat a process serves shares its one event loop, so the loop's lag (how late a timer fires)
is what every artist waits on top of the work itself. A timer fires every LOAD_SHED_SAMPLE_SECONDS
and measures how late it woke; the lag is smoothed (EWMA) so one slow callback does not flip it.
Past LOAD_SHED_LAG_MS the process sheds: callers refuse new arrivals politely (a 503 page with
Retry-After, a socket closed with "try again later", which the page retries by itself) while the chats already
running go on. It stops shedding once the lag is below half the limit (hysteresis: no flapping at
the edge). Per process and per event loop, in memory: no Redis round trip on the hot path, and a
process that is fine keeps serving even when its neighbour is swamped. LOAD_SHED_LAG_MS = 0 is off.

The loop can be on time while the work it hands to threads queues: the chat's database work runs on
a few threads of its own, and with 1,000 artists on two cores it waited up to 1.7 s for one while
the loop ran at most 64 ms late. So a thread pool registered with `pool_watched` is timed as well, by
the same sampler: each sample hands it a no-op and measures how long that waited for a thread (a
probe still waiting counts as its wait so far). That wait is smoothed and limited like the loop's
lag, and either one over the limit sheds.

The sampler is a chain of `loop.call_later` timers, not a task, so it costs one callback per sample
and leaves nothing pending when a loop closes. It starts on the first `shedding()` call made in a
loop (the process's first request).
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass

from django.conf import settings
from prometheus_client import Counter, Gauge

logger = logging.getLogger(__name__)

SMOOTHING = 0.3  # weight of the newest sample: a lag that lasts ~3 samples is believed, one is not

LOOP_LAG = Gauge("event_loop_lag_seconds", "Smoothed lateness of this process's event loop timers")
POOL_WAIT = Gauge("thread_pool_wait_seconds", "Smoothed wait for a thread of this process's watched pools", ["pool"])
SHED = Counter("load_shed", "Arrivals refused while the process was overloaded", ["kind"])


@dataclass
class LagGauge:
    """The smoothed lag and whether it means shedding, from samples in seconds (no clock: the
    sampler feeds it, tests too)."""

    limit: float  # seconds; 0 = never shed
    lag: float = 0.0
    shedding: bool = False

    def observe(self, sample: float) -> bool | None:
        """Take one sample; True when shedding starts with it, False when it stops, else None."""
        self.lag += SMOOTHING * (max(0.0, sample) - self.lag)
        was = self.shedding
        if self.limit <= 0:
            self.shedding = False
        elif self.lag > self.limit:
            self.shedding = True
        elif self.lag < self.limit / 2:
            self.shedding = False
        return self.shedding if self.shedding != was else None


class PoolProbe:
    """Times how long work waits for one thread pool's threads, feeding a LagGauge."""

    def __init__(self, name: str, executor: Executor, gauge: LagGauge) -> None:
        self.name, self.executor, self.gauge = name, executor, gauge
        self.sent: float | None = None
        self.started: float | None = None

    def wait(self) -> float | None:
        """The last probe's wait (or the wait so far of one not started yet); a new probe goes
        out once the last one has started. None before the first probe."""
        now = time.monotonic()
        if self.sent is not None and self.started is None:
            return now - self.sent
        waited = None if self.sent is None else self.started - self.sent
        self.sent, self.started = now, None
        self.executor.submit(self._started)
        return waited

    def _started(self) -> None:  # in the pool's thread
        self.started = time.monotonic()


_watched: dict[str, Executor] = {}


def pool_watched(name: str, executor: Executor) -> None:
    """Time `executor` too: work waiting `LOAD_SHED_LAG_MS` for its threads sheds, as a late
    loop does (`name` says which in the log and the metrics)."""
    _watched[name] = executor


def _announce(change: bool | None, what: str, gauge: LagGauge) -> None:
    if change is True:
        logger.warning("overloaded: %s %.0f ms late (limit %.0f ms); refusing new chats until it recovers",
                       what, gauge.lag * 1000, gauge.limit * 1000)
    elif change is False:
        logger.warning("no longer overloaded: %s %.0f ms late; new chats welcome again", what, gauge.lag * 1000)


class LoopSampler:
    """Times one event loop with a chain of timers, and the watched thread pools at each tick."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float, gauge: LagGauge) -> None:
        self.loop, self.interval, self.gauge = loop, interval, gauge
        self.pools: dict[Executor, PoolProbe] = {}
        self._schedule()

    def _schedule(self) -> None:
        self.due = self.loop.time() + self.interval
        self.loop.call_at(self.due, self._tick)

    @property
    def shedding(self) -> bool:
        return self.gauge.shedding or any(probe.gauge.shedding for probe in self.pools.values())

    def _tick(self) -> None:
        try:
            self._sample()
        finally:  # whatever a sample meets, the timing goes on
            self._schedule()

    def _sample(self) -> None:
        limit = settings.LOAD_SHED_LAG_MS / 1000  # settings may change (tests, a reload)
        self.gauge.limit = limit
        _announce(self.gauge.observe(self.loop.time() - self.due), "event loop", self.gauge)
        LOOP_LAG.set(self.gauge.lag)
        # Probes of pools no longer watched go (a pool shut down takes no probe).
        self.pools = {executor: self.pools.get(executor) or PoolProbe(name, executor, LagGauge(limit=limit))
                      for name, executor in _watched.items()}
        for probe in self.pools.values():
            probe.gauge.limit = limit
            if (waited := probe.wait()) is not None:
                _announce(probe.gauge.observe(waited), probe.name, probe.gauge)
                POOL_WAIT.labels(pool=probe.name).set(probe.gauge.lag)


_samplers: dict[asyncio.AbstractEventLoop, LoopSampler] = {}


def _sampler() -> LoopSampler:
    loop = asyncio.get_running_loop()
    sampler = _samplers.get(loop)
    if sampler is None:
        for closed in [known for known in _samplers if known.is_closed()]:  # tests run a loop each
            del _samplers[closed]
        sampler = _samplers[loop] = LoopSampler(loop, settings.LOAD_SHED_SAMPLE_SECONDS,
                                                LagGauge(limit=settings.LOAD_SHED_LAG_MS / 1000))
    return sampler


def shedding(kind: str) -> bool:
    """Whether this process refuses a new arrival of `kind` ("page", "socket") now; counted if so.
    Call from async code (the running loop is the one timed)."""
    if settings.LOAD_SHED_LAG_MS <= 0:
        return False
    if refuse := _sampler().shedding:
        SHED.labels(kind=kind).inc()
    return refuse

