"""Health checks: is each dependency answering right now?

    components = health_check()   # [ComponentHealth(name="database", ok=True, detail="SELECT 1 ok"), ...]

The checks are declared as data in `DEGRADATION_HEALTH_CHECKS` (a component name -> the import
string of a callable returning one `ComponentHealth` or a list of them), so a project can add
its own and a test can swap one for a failing one. They run concurrently, each in a daemon
thread of its own, and `health_check` waits at most `DEGRADATION_CHECK_TIMEOUT` seconds for all
of them: a hanging dependency is reported as timed out and never holds the caller (nor the
process's exit). No check raises: a failure is a component with `ok=False`.

Details name an error's type only (`ConnectionError`, `OperationalError`): `/readyz` is public,
and an error's message may carry host names. The message itself is logged at DEBUG level.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.module_loading import import_string

from resilience import breakers
from resilience.machine import State

logger = logging.getLogger(__name__)

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
AI_COMPONENT_PREFIX = "ai:"
# Breaker states that mean "not available": everything else (HALF_OPEN included) lets calls through.
UNAVAILABLE_STATES = frozenset({State.OPEN, State.FORCED_OPEN})


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    ok: bool
    detail: str


def _failed(name: str, error: BaseException) -> ComponentHealth:
    logger.debug("health: %s check failed: %r", name, error)
    return ComponentHealth(name, False, type(error).__name__)


# The checks -------------------------------------------------------------------------------
def database_health() -> ComponentHealth:
    """SELECT 1 on the default database. Meant to run in a thread of its own (`health_check`
    does): it closes the connection it opened, and never one the caller holds."""
    connection = connections[DEFAULT_DB_ALIAS]
    opened_here = connection.connection is None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return ComponentHealth("database", True, "SELECT 1 ok")
    except Exception as error:  # noqa: BLE001 - a check reports, it does not raise
        return _failed("database", error)
    finally:
        if opened_here and not connection.in_atomic_block:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass


def _redis_ping(name: str, url: str) -> ComponentHealth:
    timeout = settings.RESILIENCE_REDIS_TIMEOUTS["health"]
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
        return ComponentHealth(name, True, "PING ok")
    except Exception as error:  # noqa: BLE001
        return _failed(name, error)
    finally:
        client.close()


def redis_health() -> ComponentHealth:
    """PING on REDIS_URL (cache, channel layer, breaker store)."""
    return _redis_ping("redis", settings.REDIS_URL)


def broker_health() -> ComponentHealth:
    """The Celery broker answers: PING when it is Redis, else a kombu connection."""
    url = settings.CELERY_BROKER_URL
    if urlsplit(url).scheme in REDIS_SCHEMES:
        return _redis_ping("broker", url)
    try:
        from kombu import Connection

        with Connection(url, connect_timeout=settings.RESILIENCE_REDIS_TIMEOUTS["health"]) as connection:
            connection.connect()
        return ComponentHealth("broker", True, "connected")
    except Exception as error:  # noqa: BLE001
        return _failed("broker", error)


def _ai_providers_source() -> Callable[[], Iterable[str]]:
    path = getattr(settings, "DEGRADATION_AI_PROVIDERS", "")
    return import_string(path) if path else list


def configured_ai_providers() -> list[str]:
    """The configured AI providers, from the callable named by `DEGRADATION_AI_PROVIDERS`
    (empty setting: none). A project without AI providers simply has none."""
    return list(_ai_providers_source()())


def _probe_due(snapshot) -> bool:
    """OPEN (not forced) and past its recovery timeout: time for its one probe."""
    due = breakers.next_probe_at_ms(snapshot)
    return due is not None and time.time() * 1000 >= due


def ai_provider_health() -> list[ComponentHealth]:
    """One component per configured AI provider (`ai:<provider>`): available unless its
    circuit breaker is OPEN or FORCED_OPEN. An OPEN one whose recovery timeout has passed is
    asked one short question through its breaker (`DEGRADATION_AI_PROBE`): a provider behind a
    healthy one is never asked during chats, and must not stay "down" after it recovered."""
    providers = configured_ai_providers()
    if not providers:
        return []
    snapshots = {snapshot.name: snapshot for snapshot in breakers.snapshots()}
    probe = import_string(settings.DEGRADATION_AI_PROBE) if settings.DEGRADATION_AI_PROBE else None
    due = [name for name in providers
           if probe is not None and _probe_due(snapshots.get(name) or breakers.get_breaker(name).snapshot())]
    probes = [threading.Thread(target=probe, args=(name,), name=f"probe-{name}", daemon=True) for name in due]
    for thread in probes:  # concurrently: two hanging providers cost one probe's time, not two
        thread.start()
    for thread in probes:
        thread.join(settings.DEGRADATION_CHECK_TIMEOUT)
    components = []
    for name in providers:
        state = breakers.get_breaker(name).state if name in due else (
            snapshots.get(name) or breakers.get_breaker(name).snapshot()).state
        components.append(ComponentHealth(f"{AI_COMPONENT_PREFIX}{name}", state not in UNAVAILABLE_STATES, str(state)))
    return components


# Running them -------------------------------------------------------------------------------
Check = Callable[[], "ComponentHealth | Iterable[ComponentHealth]"]


class _Run:
    """One check in a daemon thread; its result, or why there is none."""

    def __init__(self, name: str, check: Check) -> None:
        self.name = name
        self.check = check
        self.result: list[ComponentHealth] | None = None
        self.thread = threading.Thread(target=self._run, name=f"health-{name}", daemon=True)

    def _run(self) -> None:
        try:
            outcome = self.check()
            self.result = [outcome] if isinstance(outcome, ComponentHealth) else list(outcome)
        except Exception as error:  # noqa: BLE001
            self.result = [_failed(self.name, error)]

    def components(self) -> list[ComponentHealth]:
        if self.result is None:
            logger.debug("health: %s check timed out", self.name)
            return self.unknown("timeout")
        if self.name == "ai" and any(c.name == "ai" and not c.ok for c in self.result):
            return self.unknown(self.result[0].detail)
        return self.result

    def unknown(self, detail: str) -> list[ComponentHealth]:
        """No answer: the AI check's providers count as failing one by one (the rules look at
        `ai:<name>`), any other check as its own failure."""
        if self.name == "ai":
            try:
                return [ComponentHealth(f"{AI_COMPONENT_PREFIX}{name}", False, detail)
                        for name in configured_ai_providers()]
            except Exception:  # noqa: BLE001
                pass
        return [ComponentHealth(self.name, False, detail)]


def _declared_checks(only: Iterable[str] | None = None) -> list[tuple[str, Check | BaseException]]:
    """The checks, imported before the clock starts (a first import can take a second: the AI
    providers' module brings their SDKs)."""
    try:
        _ai_providers_source()
    except Exception:  # noqa: BLE001 - the AI check reports it
        pass
    checks: list[tuple[str, Check | BaseException]] = []
    for name, path in settings.DEGRADATION_HEALTH_CHECKS.items():
        if only is not None and name not in only:
            continue
        try:
            checks.append((name, import_string(path)))
        except Exception as error:  # noqa: BLE001 - reported as the component's failure
            checks.append((name, error))
    return checks


def health_check(only: Iterable[str] | None = None) -> list[ComponentHealth]:
    """Every declared check (or `only` those), run concurrently, in declaration order, each in a
    thread of its own (so with a connection of its own). Never raises."""
    runs: list[_Run] = []
    components: list[ComponentHealth | _Run] = []
    for name, check in _declared_checks(only):
        if isinstance(check, BaseException):
            components.append(_failed(name, check))
            continue
        run = _Run(name, check)
        run.thread.start()
        runs.append(run)
        components.append(run)
    deadline = time.monotonic() + settings.DEGRADATION_CHECK_TIMEOUT
    for run in runs:
        run.thread.join(max(0.0, deadline - time.monotonic()))
    result: list[ComponentHealth] = []
    for item in components:
        result.extend(item.components() if isinstance(item, _Run) else [item])
    return result
