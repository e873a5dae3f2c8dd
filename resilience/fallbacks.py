"""`execute_with_fallback` (seed 001): run an operation through its breaker, and when it cannot
run, say what stood in for it.

    result = execute_with_fallback(upload, dependency="storage", plan=FallbackPlan(
        queue=JobRequest("presskit.photo_store", {...}, idempotency_key=f"photo:{name}")))
    result.fallback   # NONE (it ran), CACHED, SKIPPED, QUEUED or FAILED

The plan's options, tried in this order when the operation fails or its breaker refuses:
- `cache_key`: serve the last good value kept under that key (kept on every success);
- `queue`: the work waits in the queue for later. The job is written *before* the operation
  runs and held by this caller while it runs, so a process that dies mid-call loses nothing
  (the lease runs out and a worker takes the job); on success the job is done, and its type's
  `apply` has recorded the effect — the caller and a worker record it the same way, once;
- `allow_skip`: a non-critical integration that failed too often lately (resilience.skips) is
  not called at all: SKIPPED (and queued, with `queue`).
FAILED means nothing could stand in: the caller decides what the artist sees.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from resilience.breakers import get_breaker
from resilience.models import QueuedJob
from resilience.queue import (
    Claim, JobRequest, Status, describe_error, gate_get, job_enqueue, job_settle, run_through,
)
from resilience.skips import integration_failure_record, integration_skip_seconds
from resilience.redis_client import process_cache

logger = logging.getLogger(__name__)

T = TypeVar("T")
CACHE_TTL = 7 * 24 * 60 * 60


class Fallback(StrEnum):
    NONE = "none"  # the operation ran
    CACHED = "cached"  # the last good value was served
    SKIPPED = "skipped"  # a failing non-critical integration was left out
    QUEUED = "queued"  # the work waits in the queue and will be done later
    FAILED = "failed"  # nothing could stand in


@dataclass(frozen=True)
class FallbackPlan:
    cache_key: str | None = None
    queue: JobRequest | None = None
    allow_skip: bool = False


@dataclass(frozen=True)
class FallbackResult(Generic[T]):
    fallback: Fallback
    value: T | None = None
    job: QueuedJob | None = None
    error: str = ""  # the error's type and status, when there was one

    @property
    def served(self) -> bool:
        """A value is here (fresh or cached)."""
        return self.fallback in (Fallback.NONE, Fallback.CACHED)


class _Plan:
    """One execution of a plan: the decisions before and after the operation (sync; the async
    entry point runs them in a worker thread)."""

    def __init__(self, dependency: str, plan: FallbackPlan) -> None:
        self.dependency = dependency
        self.plan = plan
        self.claim: Claim | None = None

    def before(self) -> FallbackResult | None:
        """A result that stands in without running the operation, or None to run it. The job is
        written first, so nothing that happens next can lose the work."""
        plan = self.plan
        skip = plan.allow_skip and integration_skip_seconds(self.dependency) > 0
        job = None
        if plan.queue is not None:
            job, self.claim = job_enqueue(self._request(), claim=not skip)
        if skip:
            logger.info("%s skipped: failed too often lately%s", self.dependency, " (queued)" if job else "")
            return FallbackResult(Fallback.SKIPPED, job=job, error="skipped")
        if job is None or self.claim is not None:
            return None
        if job.status == Status.DONE:  # the same work, done already
            return FallbackResult(Fallback.NONE, value=job.result, job=job)
        if job.status in (Status.DEAD, Status.DISCARDED):
            return FallbackResult(Fallback.FAILED, job=job, error=job.last_error)
        return FallbackResult(Fallback.QUEUED, job=job)  # held by someone else, or waiting its turn

    def _request(self) -> JobRequest:
        return replace(self.plan.queue, dependency=self.dependency)

    def _settled(self, fallback: Fallback, value: Any, error: str = "") -> FallbackResult:
        """Finish the job this caller holds with the value; if the job turns out to be someone
        else's by now, it is theirs to finish: the work is queued, not served."""
        if self.claim is None:
            return FallbackResult(fallback, value=value, error=error)
        outcome = job_settle(self.claim, value=value)
        if outcome != Status.DONE:
            return FallbackResult(Fallback.QUEUED, job=self.claim.job, error=error or outcome)
        return FallbackResult(fallback, value=value, job=self.claim.job, error=error)

    def succeeded(self, value: Any) -> FallbackResult:
        result = self._settled(Fallback.NONE, value)
        if self.plan.cache_key:
            _cache_put(self.plan.cache_key, value)
        return result

    def failed(self, error: BaseException) -> FallbackResult:
        described = describe_error(error)
        logger.warning("%s failed (%s): falling back", self.dependency, described)
        if self.plan.allow_skip and self.claim is None:
            integration_failure_record(self.dependency, error)  # a job's settle records it otherwise
        cached = _cache_get(self.plan.cache_key) if self.plan.cache_key else None
        if cached is not None:
            return self._settled(Fallback.CACHED, cached, described)
        if self.claim is not None:
            job_settle(self.claim, error=error)
            job = self.claim.job
            if job.status != Status.DEAD:
                return FallbackResult(Fallback.QUEUED, job=job, error=described)
        return FallbackResult(Fallback.FAILED, error=described)


def _cache_get(key: str) -> Any:
    try:
        return process_cache().get(key)
    except Exception as error:  # noqa: BLE001 - the cache is a fallback: without Redis there is none
        logger.warning("fallback cache unreadable (%s)", describe_error(error))
        return None


def _cache_put(key: str, value: Any) -> None:
    try:
        process_cache().set(key, value, CACHE_TTL)
    except Exception as error:  # noqa: BLE001 - the value is served and recorded: the cache can wait
        logger.warning("fallback cache not written (%s)", describe_error(error))


def execute_with_fallback(operation: Callable[[], T], *, dependency: str, plan: FallbackPlan) -> FallbackResult[T]:
    """Run `operation` through the `dependency` breaker (or gate) with the plan's fallbacks."""
    steps = _Plan(dependency, plan)
    if (stand_in := steps.before()) is not None:
        return stand_in
    try:
        value = run_through(dependency, operation)
    except Exception as error:  # noqa: BLE001 - the plan decides what stands in
        return steps.failed(error)
    return steps.succeeded(value)


async def _database_work(work: Callable[..., T], *args: Any) -> T:
    """Database work from async code, done as Channels does it: in the thread kept for it, whose
    connection is given back afterwards (CONN_MAX_AGE = 0: to the pool, or closed)."""
    def run() -> T:
        try:
            return work(*args)
        finally:
            close_old_connections()

    return await sync_to_async(run)()


async def aexecute_with_fallback(operation: Callable[[], Awaitable[T]], *, dependency: str,
                                 plan: FallbackPlan) -> FallbackResult[T]:
    """The same for async code: the operation is awaited in the caller's event loop; the
    queue's database work runs in a worker thread."""
    steps = _Plan(dependency, plan)
    if (stand_in := await _database_work(steps.before)) is not None:
        return stand_in
    try:
        if gate_get(dependency) is not None:
            value = await operation()
        else:
            value = await get_breaker(dependency).call(operation)
    except Exception as error:  # noqa: BLE001 - the plan decides what stands in
        return await _database_work(steps.failed, error)
    return await _database_work(steps.succeeded, value)
