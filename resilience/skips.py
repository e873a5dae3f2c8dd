"""Skip failing integrations (seed 001): a non-critical service that failed
INTEGRATION_SKIP_FAILURES times in the last INTEGRATION_SKIP_WINDOW seconds is not called.

Failures are kept in Redis, one sorted set per service (member: a unique id, score: the time),
so every process skips the same services and a service comes back by itself as its failures
age out of the window (a sliding window, unlike a breaker's).
"""
from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings

from resilience.breakers import CircuitOpenError, classify, get_breaker
from resilience.machine import Outcome
from resilience.redis_client import shared_redis
from resilience.store import REDIS_TROUBLE

logger = logging.getLogger(__name__)


def _key(service: str) -> str:
    return f"{settings.RESILIENCE_KEY_PREFIX}:skip:{service}"


def integration_failure_record(service: str, error: BaseException) -> None:
    """Count a failed call, as its breaker would: errors a retry cannot fix (HTTP 400/401/403/
    404/422) and refusals by the breaker itself do not make a service skipped for everyone."""
    if isinstance(error, CircuitOpenError) or classify(error, get_breaker(service).config) not in (
            Outcome.FAILURE, Outcome.TIMEOUT):
        return
    try:
        _record(service)
    except REDIS_TROUBLE:  # without Redis no failure is kept: the service is tried, not skipped
        logger.warning("integration failure of %s not recorded (Redis unreachable)", service)


def _record(service: str) -> None:
    now = time.time()
    window = settings.INTEGRATION_SKIP_WINDOW
    pipeline = shared_redis().pipeline(transaction=True)
    pipeline.zadd(_key(service), {uuid.uuid4().hex: now})
    pipeline.zremrangebyscore(_key(service), 0, now - window)
    pipeline.expire(_key(service), int(window) + 1)
    pipeline.execute()


def integration_skip_seconds(service: str) -> float:
    """0 when the service may be called; else the seconds until it may be again. Without Redis,
    0: a non-critical service is tried (its own breaker still guards it) rather than skipped."""
    now = time.time()
    window = settings.INTEGRATION_SKIP_WINDOW
    needed = settings.INTEGRATION_SKIP_FAILURES
    try:
        recent = shared_redis().zrangebyscore(_key(service), now - window, "+inf", withscores=True)
    except REDIS_TROUBLE:
        logger.warning("skip rule of %s unknown (Redis unreachable): not skipped", service)
        return 0.0
    if len(recent) < needed:
        return 0.0
    # Skipped until the oldest of the last `needed` failures leaves the window.
    oldest_counted = recent[-needed][1]
    return max(0.0, oldest_counted + window - now)

