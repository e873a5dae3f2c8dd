"""Circuit breakers: stop calling a dependency that is failing, and try it again carefully.

    breaker = get_breaker("openai")
    reply = await breaker.call(fetch_reply, prompt, fallback=template_reply)   # async code
    async with breaker.attempt():                                               # a stream
        async for token in stream(): ...
    rows = get_breaker("storage").call_sync(upload, photo)                      # Celery tasks

A refused call raises `CircuitOpenError` (or returns the fallback, when one is given) without
calling the dependency. A call slower than the breaker's `call_timeout` is a failure
(`CallTimeout`). Errors a retry cannot fix (HTTP 400/401/403/404/422 from an SDK) are re-raised
and not counted. Every transition, success, failure and fallback is told to the listeners.
"""
from __future__ import annotations

import asyncio
import atexit
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from types import TracebackType
from typing import Any, Protocol, TypeVar

from django.conf import settings

from resilience.config import BreakerConfig, build_configs, config_for, parse_overrides
from resilience.machine import Limits, Outcome, Permit, Snapshot, State, Transition
from resilience.store import (
    REDIS_BREAKER, BreakerStore, FailoverBreakerStore, LocalBreakerStore, RedisBreakerStore, RedisHealth,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


class BreakerError(Exception):
    """Base of the errors a breaker raises itself."""

    def __init__(self, breaker: str, message: str) -> None:
        super().__init__(f"{breaker}: {message}")
        self.breaker = breaker


class CircuitOpenError(BreakerError):
    """The breaker refused the call; the dependency was not called."""

    def __init__(self, breaker: str, state: State) -> None:
        super().__init__(breaker, f"circuit {state}")
        self.state = state


class CallTimeout(BreakerError, TimeoutError):
    """The call took longer than the breaker's call timeout."""


class BreakerListener(Protocol):
    def on_state_change(self, breaker: str, from_state: State, to_state: State, reason: str) -> None: ...
    def on_success(self, breaker: str) -> None: ...
    def on_failure(self, breaker: str, outcome: Outcome, error_type: str) -> None: ...
    def on_ignored(self, breaker: str, error_type: str) -> None: ...
    def on_fallback(self, breaker: str, state: State) -> None: ...


class LoggingListener:
    """Logs events with the breaker's name and error types only: never user content."""

    def on_state_change(self, breaker: str, from_state: State, to_state: State, reason: str) -> None:
        level = logging.WARNING if to_state in (State.OPEN, State.FORCED_OPEN) else logging.INFO
        logger.log(level, "breaker %s: %s -> %s (%s)", breaker, from_state, to_state, reason)

    def on_success(self, breaker: str) -> None:
        logger.debug("breaker %s: success", breaker)

    def on_failure(self, breaker: str, outcome: Outcome, error_type: str) -> None:
        logger.info("breaker %s: %s (%s)", breaker, outcome, error_type)

    def on_ignored(self, breaker: str, error_type: str) -> None:
        logger.info("breaker %s: not counted (%s)", breaker, error_type)

    def on_fallback(self, breaker: str, state: State) -> None:
        logger.debug("breaker %s: fallback served (%s)", breaker, state)


# Callables told of every state change of the project's breakers (those `get_breaker` returns),
# after the log: e.g. the degradation manager re-evaluating the service level. Registered by an
# app's ready(); a failing hook is logged and never disturbs the call whose result it was told.
TransitionHook = Callable[[str, Transition], None]
transition_hooks: list[TransitionHook] = []


class TransitionHooksListener:
    """Passes state changes on to `transition_hooks`; the other events are not theirs."""

    def on_state_change(self, breaker: str, from_state: State, to_state: State, reason: str) -> None:
        transition = Transition(from_state, to_state, reason)
        for hook in list(transition_hooks):
            try:
                hook(breaker, transition)
            except Exception:  # noqa: BLE001 - see above
                logger.exception("breaker %s: transition hook %r failed", breaker, hook)

    def on_success(self, breaker: str) -> None:
        pass

    def on_failure(self, breaker: str, outcome: Outcome, error_type: str) -> None:
        pass

    def on_ignored(self, breaker: str, error_type: str) -> None:
        pass

    def on_fallback(self, breaker: str, state: State) -> None:
        pass


def _status_code(error: BaseException) -> int | None:
    """An HTTP status from an SDK error (`status_code`) or an HTTP client's (`response`)."""
    code = getattr(error, "status_code", None)
    if code is None:
        code = getattr(getattr(error, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def classify(error: BaseException, config: BreakerConfig) -> Outcome:
    """How an error counts. Cancellation, interpreter exit or a consumer that stopped reading
    (anything not an `Exception`) is not the dependency's fault: it is not counted."""
    if not isinstance(error, Exception):
        return Outcome.IGNORED
    if isinstance(error, TimeoutError):
        return Outcome.TIMEOUT
    if _status_code(error) in config.non_counting_status_codes:
        return Outcome.IGNORED
    return Outcome.FAILURE


async def _resolve(value: T | Awaitable[T]) -> T:
    return await value if inspect.isawaitable(value) else value


def limits_of(config: BreakerConfig) -> Limits:
    return Limits(
        failure_threshold=config.failure_threshold,
        volume_threshold=config.volume_threshold,
        window_ms=int(config.window * 1000),
        recovery_ms=int(config.recovery_timeout * 1000),
        lease_ms=int(config.probe_lease * 1000),
    )


class CircuitBreaker:
    def __init__(self, config: BreakerConfig, store: BreakerStore, *, clock: Callable[[], float] = time.time,
                 listeners: Sequence[BreakerListener] = (LoggingListener(),)) -> None:
        self.config = config
        self.name = config.name
        self.store = store
        self.clock = clock
        self.listeners = list(listeners)
        self.limits = limits_of(config)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # Events -------------------------------------------------------------------------------
    def _announce(self, transition: Transition | None) -> None:
        if transition is not None:
            for listener in self.listeners:
                listener.on_state_change(self.name, transition.from_state, transition.to_state, transition.reason)

    def _tell(self, outcome: Outcome, error: BaseException | None) -> None:
        error_type = type(error).__name__ if error is not None else ""
        for listener in self.listeners:
            if outcome is Outcome.SUCCESS:
                listener.on_success(self.name)
            elif outcome is Outcome.IGNORED:
                listener.on_ignored(self.name, error_type)
            else:
                listener.on_failure(self.name, outcome, error_type)

    def _refused(self, permit: Permit) -> CircuitOpenError:
        for listener in self.listeners:
            listener.on_fallback(self.name, permit.state)
        return CircuitOpenError(self.name, permit.state)

    # Async API ----------------------------------------------------------------------------
    def attempt(self, *, fallback_served: bool = False) -> AsyncAttempt:
        """`async with breaker.attempt():` guards the block (a stream, several awaits)."""
        return AsyncAttempt(self, fallback_served)

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any,
                   fallback: Callable[[BaseException], T | Awaitable[T]] | None = None, **kwargs: Any) -> T:
        attempt = self.attempt(fallback_served=fallback is not None)
        try:
            async with attempt:
                return await fn(*args, **kwargs)
        except Exception as error:
            if fallback is None or attempt.outcome is Outcome.IGNORED:
                raise
            return await _resolve(fallback(error))

    # Sync API -----------------------------------------------------------------------------
    def attempt_sync(self, *, fallback_served: bool = False) -> SyncAttempt:
        return SyncAttempt(self, fallback_served)

    def call_sync(self, fn: Callable[..., T], *args: Any,
                  fallback: Callable[[BaseException], T] | None = None, **kwargs: Any) -> T:
        """For sync code (Celery tasks). The call cannot be interrupted here: one that returns
        after `call_timeout` is counted as a timeout (pass the timeout to the client too)."""
        attempt = self.attempt_sync(fallback_served=fallback is not None)
        try:
            with attempt:
                return fn(*args, **kwargs)
        except Exception as error:
            if fallback is None or attempt.outcome is Outcome.IGNORED:
                raise
            return fallback(error)

    # Staff --------------------------------------------------------------------------------
    def _force(self, to: State, reason: str) -> Transition:
        transition = self.store.force(self.name, self.now_ms(), to, reason)
        self._announce(transition)
        return transition

    def reset(self, reason: str = "reset by staff") -> Transition:
        return self._force(State.CLOSED, reason)

    def force_open(self, reason: str = "forced open by staff") -> Transition:
        return self._force(State.FORCED_OPEN, reason)

    def force_closed(self, reason: str = "forced closed by staff") -> Transition:
        return self._force(State.FORCED_CLOSED, reason)

    def snapshot(self) -> Snapshot:
        return self.store.snapshots([self.name])[0]

    @property
    def state(self) -> State:
        return self.snapshot().state


class _Attempt:
    def __init__(self, breaker: CircuitBreaker, fallback_served: bool) -> None:
        self.breaker = breaker
        self.fallback_served = fallback_served
        self.permit: Permit | None = None
        self.outcome: Outcome | None = None
        self.started = 0.0

    def _admit(self, permit: Permit) -> None:
        self.breaker._announce(permit.transition)
        if not permit.allowed:
            raise self.breaker._refused(permit)
        self.permit = permit
        self.started = time.monotonic()

    def _judge(self, error: BaseException | None) -> Outcome:
        if error is not None:
            return classify(error, self.breaker.config)
        if time.monotonic() - self.started > self.breaker.config.call_timeout:
            return Outcome.TIMEOUT
        return Outcome.SUCCESS

    def _fallback_counted(self, outcome: Outcome) -> bool:
        """A failed call whose caller serves a fallback counts as a fallback served."""
        return self.fallback_served and outcome in (Outcome.FAILURE, Outcome.TIMEOUT)

    def _told(self, outcome: Outcome, error: BaseException | None, transition: Transition | None) -> None:
        self.outcome = outcome
        self.breaker._tell(outcome, error)
        self.breaker._announce(transition)


class AsyncAttempt(_Attempt):
    async def __aenter__(self) -> AsyncAttempt:
        breaker = self.breaker
        self._admit(await breaker.store.aacquire(breaker.name, breaker.now_ms(), breaker.limits))
        self._timeout = asyncio.timeout(breaker.config.call_timeout)
        await self._timeout.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> bool:
        breaker = self.breaker
        try:
            await self._timeout.__aexit__(exc_type, error, traceback)
        except TimeoutError:
            error = CallTimeout(breaker.name, f"no result within {breaker.config.call_timeout:g} s")
        outcome = self._judge(error)
        transition = await breaker.store.asettle(breaker.name, breaker.now_ms(), self.permit, outcome,
                                                 self._fallback_counted(outcome), breaker.limits)
        self._told(outcome, error, transition)
        if isinstance(error, CallTimeout) and exc_type is not CallTimeout:
            raise error
        return False


class SyncAttempt(_Attempt):
    def __enter__(self) -> SyncAttempt:
        breaker = self.breaker
        self._admit(breaker.store.acquire(breaker.name, breaker.now_ms(), breaker.limits))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        breaker = self.breaker
        outcome = self._judge(error)
        transition = breaker.store.settle(breaker.name, breaker.now_ms(), self.permit, outcome,
                                          self._fallback_counted(outcome), breaker.limits)
        self._told(outcome, error, transition)
        return False


# The project's breakers -------------------------------------------------------------------
@dataclass(frozen=True)
class _Registry:
    configs: dict[str, BreakerConfig]
    overrides: dict[str, dict[str, float]]
    store: FailoverBreakerStore


@cache
def _registry() -> _Registry:
    overrides = parse_overrides(settings.BREAKER_OVERRIDES)
    configs = build_configs(settings.RESILIENCE_BREAKERS, overrides)
    redis_config = configs[REDIS_BREAKER]

    def on_redis_transition(transition: Transition) -> None:
        LoggingListener().on_state_change(REDIS_BREAKER, transition.from_state, transition.to_state, transition.reason)

    local = LocalBreakerStore()
    shared = RedisBreakerStore(
        settings.RESILIENCE_REDIS_URL, prefix=settings.RESILIENCE_KEY_PREFIX,
        mirror_ttl=settings.RESILIENCE_STATE_TTL, socket_timeout=settings.RESILIENCE_REDIS_TIMEOUTS["breakers"],
        health=RedisHealth(local, limits_of(redis_config), on_redis_transition),
    )
    return _Registry(configs, overrides, FailoverBreakerStore(shared, local))


def flush_kept_counts() -> None:
    """Send the counts this process kept back (at exit, when a worker process stops). Quiet:
    at exit the logging streams may be closed already, and counts are not worth a crash."""
    if _registry.cache_info().currsize:
        try:
            _registry().store.shared.flush()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass


atexit.register(flush_kept_counts)


def get_breaker(name: str) -> CircuitBreaker:
    """The breaker for a dependency (`openai`, `database`, `integration:<service>`, …)."""
    registry = _registry()
    return CircuitBreaker(config_for(name, registry.configs, registry.overrides), registry.store,
                          listeners=(LoggingListener(), TransitionHooksListener()))


def breaker_names() -> list[str]:
    """Every declared breaker, then every integration breaker that has been used."""
    registry = _registry()
    declared = [name for name in registry.configs if name != "integration"]
    used = sorted(name for name in registry.store.known_names() if name not in registry.configs
                  and name.startswith("integration:"))
    return declared + used


def snapshots() -> list[Snapshot]:
    return _registry().store.snapshots(breaker_names())


def next_probe_at_ms(snapshot: Snapshot) -> int | None:
    """When an OPEN breaker lets its next call through as the probe (ms since the epoch): its
    recovery timeout after it opened. The probe is the first call from then on, so the time may
    have passed. None in any other state (FORCED_OPEN waits for staff)."""
    if snapshot.state is not State.OPEN:
        return None
    # Opening sets `changed_at` too: while OPEN it is the moment it opened.
    return snapshot.changed_at_ms + get_breaker(snapshot.name).limits.recovery_ms


def reset_registry() -> None:
    """Forget the configured breakers and store (when settings change, e.g. in tests)."""
    flush_kept_counts()
    _registry.cache_clear()
