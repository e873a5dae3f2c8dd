"""Load shedding by event-loop lag: when a process's event loop runs late, newcomers wait outside.

Every chat a process serves shares its one event loop, so the loop's lag (how late a timer fires)
is what every artist waits on top of the work itself. A timer fires every LOAD_SHED_SAMPLE_SECONDS
and measures how late it woke; the lag is smoothed (EWMA) so one slow callback does not flip it.
Past LOAD_SHED_LAG_MS the process sheds: callers refuse new arrivals politely (a 503 page with
Retry-After, a socket closed with "try again later", which the page retries by itself) while the chats already
running go on. It stops shedding once the lag is below half the limit (hysteresis: no flapping at
the edge). Per process and per event loop, in memory: no Redis round trip on the hot path, and a
process that is fine keeps serving even when its neighbour is swamped. LOAD_SHED_LAG_MS = 0 is off.

The sampler is a chain of `loop.call_later` timers, not a task, so it costs one callback per sample
and leaves nothing pending when a loop closes. It starts on the first `shedding()` call made in a
loop (the process's first request).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from django.conf import settings
from prometheus_client import Counter, Gauge

logger = logging.getLogger(__name__)

SMOOTHING = 0.3  # weight of the newest sample: a lag that lasts ~3 samples is believed, one is not

LOOP_LAG = Gauge("event_loop_lag_seconds", "Smoothed lateness of this process's event loop timers")
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


class LoopSampler:
    """Times one event loop with a chain of timers, feeding a LagGauge."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float, gauge: LagGauge) -> None:
        self.loop, self.interval, self.gauge = loop, interval, gauge
        self._schedule()

    def _schedule(self) -> None:
        self.due = self.loop.time() + self.interval
        self.loop.call_at(self.due, self._tick)

    def _tick(self) -> None:
        self.gauge.limit = settings.LOAD_SHED_LAG_MS / 1000  # settings may change (tests, a reload)
        change = self.gauge.observe(self.loop.time() - self.due)
        LOOP_LAG.set(self.gauge.lag)
        if change is True:
            logger.warning("overloaded: event loop %.0f ms late (limit %.0f ms); refusing new chats until it "
                           "recovers", self.gauge.lag * 1000, self.gauge.limit * 1000)
        elif change is False:
            logger.warning("no longer overloaded: event loop %.0f ms late; new chats welcome again",
                           self.gauge.lag * 1000)
        self._schedule()


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
    if refuse := _sampler().gauge.shedding:
        SHED.labels(kind=kind).inc()
    return refuse

