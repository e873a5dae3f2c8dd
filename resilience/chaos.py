"""Chaos drills: staff rehearse an outage by making one AI provider fail for a while.

    chaos_start(provider="openai", seconds=120, started_by="ana")   # every process sees it
    if await chaos_active_async("openai"):                          # the provider code, per call
        raise ChaosFault("openai")                                  # (chaos_active from sync code)
    chaos_stop(provider="openai")                                   # or let it run out

A drill is one Redis key, `<RESILIENCE_KEY_PREFIX>:chaos:<provider>`, whose TTL is the drill's
duration: it ends by itself, survives restarts of the app and is seen by every Daphne process
and Celery worker. A drill started on a provider that already has one replaces it.

`chaos_active` is on the path of every AI call, so it must cost next to nothing: one process
asks Redis (one MGET for every provider) at most once a second and answers from memory in
between. A drill therefore starts and ends up to a second late in other processes (at once in
the process that started or stopped it). A Redis that cannot be reached means "no drill": a
rehearsal must never turn into the real outage. That read goes through the `redis` breaker (this
process's view of Redis, shared with the breaker and degradation stores), so a dead or silent
Redis costs a few failed connections, then none until the breaker probes again. Staff actions
(`chaos_start`, `chaos_stop`, `chaos_drills`) do raise Redis errors
(`resilience.store.REDIS_TROUBLE`): a drill staff believe started must have reached every
process.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TypedDict

from django.conf import settings

from resilience import breakers
from resilience.redis_client import shared_redis
from resilience.store import REDIS_BREAKER, REDIS_TROUBLE

logger = logging.getLogger(__name__)

PROVIDERS: tuple[str, ...] = ("openai", "anthropic", "local")  # the AI providers a drill can fail
MIN_SECONDS = 1
MAX_SECONDS = 3600  # one hour: a forgotten drill ends by itself
CACHE_SECONDS = 1.0  # how long a process trusts its last answer from Redis


class ChaosFault(Exception):
    """Raised by a provider's code while a drill makes that provider fail."""

    def __init__(self, provider: str) -> None:
        super().__init__(f"chaos drill: {provider} made to fail by staff")
        self.provider = provider


class ChaosDrill(TypedDict):
    provider: str
    remaining_seconds: int
    started_by: str


def _key(provider: str) -> str:
    return f"{settings.RESILIENCE_KEY_PREFIX}:chaos:{provider}"


def _check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}: a chaos drill can fail one of {', '.join(PROVIDERS)}")


# --- The per-process answer of chaos_active ---------------------------------------------------

class _ActiveCache:
    """The providers under a drill, as last read from Redis, per (Redis URL, key prefix)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    def get(self, scope: tuple[str, str]) -> frozenset[str] | None:
        with self._lock:
            entry = self._entries.get(scope)
        return entry[1] if entry is not None and self.clock() < entry[0] else None

    def put(self, scope: tuple[str, str], active: frozenset[str]) -> None:
        with self._lock:
            self._entries[scope] = (self.clock() + CACHE_SECONDS, active)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_active_cache = _ActiveCache()


def _scope() -> tuple[str, str]:
    return settings.RESILIENCE_REDIS_URL, settings.RESILIENCE_KEY_PREFIX


def _read_active() -> frozenset[str]:
    keys = [_key(provider) for provider in PROVIDERS]
    try:
        values = breakers.get_breaker(REDIS_BREAKER).call_sync(lambda: shared_redis().mget(keys))
    except (*REDIS_TROUBLE, breakers.CircuitOpenError) as error:
        logger.debug("chaos drills unknown (Redis: %s): none assumed", type(error).__name__)
        return frozenset()
    return frozenset(provider for provider, value in zip(PROVIDERS, values) if value is not None)


def chaos_active(provider: str) -> bool:
    """Whether a drill makes `provider` fail now (up to CACHE_SECONDS late; False if Redis is away)."""
    scope = _scope()
    active = _active_cache.get(scope)
    if active is None:
        active = _read_active()
        _active_cache.put(scope, active)
    return provider in active


async def chaos_active_async(provider: str) -> bool:
    """`chaos_active` for an event loop: from memory on the loop (most calls), in a worker thread
    only when Redis must be asked."""
    active = _active_cache.get(_scope())
    if active is None:
        return await asyncio.to_thread(chaos_active, provider)
    return provider in active


# --- Staff ------------------------------------------------------------------------------------

def chaos_start(*, provider: str, seconds: int, started_by: str) -> None:
    """Make `provider` fail for `seconds` (1..3600) in every process. Replaces a running drill."""
    _check_provider(provider)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise ValueError(f"a chaos drill lasts {MIN_SECONDS} to {MAX_SECONDS} seconds, not {seconds!r}")
    record = json.dumps({"started_by": started_by, "started_at_ms": int(time.time() * 1000), "seconds": seconds})
    shared_redis().set(_key(provider), record, ex=seconds)
    _active_cache.clear()
    logger.warning("chaos drill started: %s made to fail for %d s by %s", provider, seconds, started_by)


def chaos_stop(*, provider: str) -> None:
    """End the drill on `provider` now (nothing happens if none is running)."""
    _check_provider(provider)
    removed = shared_redis().delete(_key(provider))
    _active_cache.clear()
    logger.info("chaos drill stopped: %s%s", provider, "" if removed else " (none was running)")


def chaos_drills() -> list[ChaosDrill]:
    """The running drills, in PROVIDERS order."""
    pipeline = shared_redis().pipeline(transaction=False)
    for provider in PROVIDERS:
        pipeline.get(_key(provider))
        pipeline.pttl(_key(provider))
    replies = pipeline.execute()
    drills: list[ChaosDrill] = []
    for provider, value, ttl_ms in zip(PROVIDERS, replies[0::2], replies[1::2]):
        if value is None or ttl_ms == -2:  # absent, or expired between the two reads
            continue
        try:
            started_by = str(json.loads(value).get("started_by", ""))
        except (ValueError, AttributeError):
            started_by = ""
        remaining = -(-ttl_ms // 1000) if ttl_ms > 0 else 0  # whole seconds, rounded up
        drills.append({"provider": provider, "remaining_seconds": remaining, "started_by": started_by})
    return drills
