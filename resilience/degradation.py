"""The service's degradation level: how much of the product works right now.

    state = degradation_current()          # DegradationState(level=Level.DEGRADED, forced=False, ...)
    degradation_evaluate()                 # Celery beat, every DEGRADATION_EVAL_INTERVAL seconds
    request_evaluation()                   # after a breaker transition (sync or async code)
    degradation_force(level=Level.MINIMAL, reason="maintenance")   # staff
    degradation_release(reason="maintenance over")
    degradation_recovery_at_ms()           # the staff dashboard: the earliest OPTIMAL can be back

How a level is computed
    The health checks (`resilience.health`) and the breakers' states become `Facts`: the set of
    failing components (a check that failed, or a breaker OPEN/FORCED_OPEN) and the configured
    AI providers. `LEVEL_RULES` (data, first match wins) maps them to a level; the reason names
    the failing components, never user content.

Hysteresis (so a flapping dependency does not make the level flap)
    A worse level applies at once. A better one applies only once it has been observed
    continuously for `DEGRADATION_RECOVERY_HOLD` seconds: for every level below the one held,
    the record keeps since when every evaluation has come out at that level or better
    (`improving`); an evaluation that comes out worse clears the levels it did not reach. The
    best level whose period has lasted the hold applies. So DEGRADED -> OPTIMAL -> DEGRADED ->
    OPTIMAL... within the hold stays DEGRADED, and MINIMAL -> LIMITED (t0) -> OPTIMAL (t1)
    reaches LIMITED at t0 + hold and OPTIMAL at t1 + hold.

Forcing
    A level forced by staff wins over the computed one until released. Evaluation goes on while
    forced: the computed level (with its hysteresis) and the last raw candidate are recorded,
    and release returns to the computed level.

Where the state lives
    In Redis (a hash and a history list capped at `HISTORY_CAP`, keys under
    `RESILIENCE_KEY_PREFIX`), shared by every process and surviving restarts. If Redis does not
    answer, evaluation goes on in this process's memory (starting from the last state it read)
    and the level reported is at least DEGRADED; when Redis answers again, a newer local state
    and the changes made meanwhile are written back. Staff actions (force, release) need Redis:
    they raise `DegradationStoreUnavailable` rather than change one process only (as the
    breakers' staff actions do). Redis calls go through the `redis` breaker, like the breaker
    store's, so a dead Redis costs a few failed connections, not one per call.

Every change is logged (levels and component names only) and broadcast to the channel-layer
group `BROADCAST_GROUP` as {"type": "degradation.changed", "level": int, "forced": bool,
"reason": str}. The state is in Redis, not in a database transaction: there is no commit to
wait for before broadcasting.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import cache
from typing import Any, Protocol, TypeVar

import redis
from django.conf import settings

from resilience import breakers
from resilience.health import (
    AI_COMPONENT_PREFIX, UNAVAILABLE_STATES, ComponentHealth, configured_ai_providers, health_check,
)
from resilience.machine import Snapshot, Transition
from resilience.store import REDIS_BREAKER, REDIS_TROUBLE

logger = logging.getLogger(__name__)
T = TypeVar("T")

BROADCAST_GROUP = "degradation"
BROADCAST_EVENT = "degradation.changed"
HISTORY_CAP = 500


class Level(IntEnum):
    OPTIMAL = 0
    DEGRADED = 1
    LIMITED = 2
    MINIMAL = 3
    EMERGENCY = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class DegradationState:
    level: Level
    forced: bool
    reason: str
    since_ms: int


@dataclass(frozen=True)
class LevelChange:
    at_ms: int
    from_level: Level
    to_level: Level
    reason: str
    forced: bool


class DegradationStoreUnavailable(Exception):
    """A staff action could not reach the shared store (Redis); nothing was changed."""


# The rules ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Facts:
    """What an evaluation observed."""

    failing: frozenset[str]  # components whose check failed or whose breaker is open
    ai: tuple[str, ...]  # the configured AI providers' components: "ai:openai", ...

    @classmethod
    def observe(cls, components: Sequence[ComponentHealth], open_breakers: Collection[str] = ()) -> Facts:
        failing = {component.name for component in components if not component.ok} | set(open_breakers)
        ai = tuple(component.name for component in components if component.name.startswith(AI_COMPONENT_PREFIX))
        return cls(frozenset(failing), ai)


class Condition(Protocol):
    def culprits(self, facts: Facts) -> tuple[str, ...]:
        """The failing components that make the condition hold; empty when it does not."""


@dataclass(frozen=True)
class AllDown:
    names: tuple[str, ...]

    def culprits(self, facts: Facts) -> tuple[str, ...]:
        return self.names if all(name in facts.failing for name in self.names) else ()


@dataclass(frozen=True)
class AnyDown:
    names: tuple[str, ...]
    any_ai: bool = False  # also any configured AI provider

    def culprits(self, facts: Facts) -> tuple[str, ...]:
        watched = (*self.names, *(facts.ai if self.any_ai else ()))
        return tuple(sorted(name for name in watched if name in facts.failing))


@dataclass(frozen=True)
class NoAIAvailable:
    """Some AI provider is configured and none is available. No provider configured at all is
    a configuration (the templates are then the normal service), not an outage."""

    def culprits(self, facts: Facts) -> tuple[str, ...]:
        return facts.ai if facts.ai and all(name in facts.failing for name in facts.ai) else ()


@dataclass(frozen=True)
class LevelRule:
    level: Level
    summary: str
    condition: Condition


# First match wins; nothing matched is OPTIMAL.
LEVEL_RULES: tuple[LevelRule, ...] = (
    LevelRule(Level.EMERGENCY, "several critical failures", AllDown(("database", "redis"))),
    LevelRule(Level.MINIMAL, "database unavailable", AnyDown(("database",))),
    LevelRule(Level.LIMITED, "no AI provider available", NoAIAvailable()),
    # Names what is down (a backup going on in its place), not the backup.
    LevelRule(Level.DEGRADED, "running without", AnyDown(("redis", "broker"), any_ai=True)),
)
HEALTHY_REASON = "all components healthy"
# Not an outage, but staff must not read OPTIMAL as "AI is answering".
NO_AI_REASON = ("all components healthy; no AI provider is configured, so every reply and bio comes from "
                "the templates (set OPENAI_API_KEY, ANTHROPIC_API_KEY or LOCAL_LLM_BASE_URL)")
STORE_AWAY_REASON = "state store unreachable"


def level_compute(components: Sequence[ComponentHealth], open_breakers: Collection[str] = (),
                  rules: Sequence[LevelRule] = LEVEL_RULES) -> tuple[Level, str]:
    """The level the rules give for what was observed, and why."""
    facts = Facts.observe(components, open_breakers)
    for rule in rules:
        if culprits := rule.condition.culprits(facts):
            return rule.level, f"{rule.summary}: {', '.join(culprits)}"
    return Level.OPTIMAL, HEALTHY_REASON if facts.ai else NO_AI_REASON


# The record ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Record:
    """The whole state as stored: the effective level, and what evaluation computed."""

    level: Level = Level.OPTIMAL  # effective: the forced level, or `computed`
    forced: bool = False
    reason: str = "not evaluated yet"
    since_ms: int = 0  # when `level` or `forced` last changed
    computed: Level = Level.OPTIMAL  # the rules' level after hysteresis
    computed_reason: str = "not evaluated yet"
    candidate: Level = Level.OPTIMAL  # the rules' level at the last evaluation, before hysteresis
    candidate_reason: str = "not evaluated yet"
    evaluated_ms: int = 0
    improving: Mapping[Level, int] = field(default_factory=dict)  # see "Hysteresis" above

    def state(self) -> DegradationState:
        return DegradationState(self.level, self.forced, self.reason, self.since_ms)

    def encode(self) -> dict[str, str]:
        return {
            "level": str(int(self.level)), "forced": str(int(self.forced)), "reason": self.reason,
            "since_ms": str(self.since_ms), "computed": str(int(self.computed)),
            "computed_reason": self.computed_reason, "candidate": str(int(self.candidate)),
            "candidate_reason": self.candidate_reason, "evaluated_ms": str(self.evaluated_ms),
            "improving": json.dumps({str(int(level)): at for level, at in self.improving.items()}),
        }

    @classmethod
    def decode(cls, raw: Mapping[bytes | str, bytes | str]) -> _Record:
        """A stored record; a missing field (no record yet, or an older one) takes its default."""
        values = {_text(key): _text(value) for key, value in raw.items()}
        default = cls()

        def level(name: str) -> Level:
            return Level(int(values[name])) if name in values else getattr(default, name)

        def number(name: str) -> int:
            return int(values[name]) if name in values else getattr(default, name)

        return cls(
            level=level("level"), forced=values.get("forced") == "1", reason=values.get("reason", default.reason),
            since_ms=number("since_ms"), computed=level("computed"),
            computed_reason=values.get("computed_reason", default.computed_reason), candidate=level("candidate"),
            candidate_reason=values.get("candidate_reason", default.candidate_reason),
            evaluated_ms=number("evaluated_ms"),
            improving={Level(int(key)): at for key, at in json.loads(values.get("improving", "{}")).items()},
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _change_encode(change: LevelChange) -> str:
    return json.dumps({"at_ms": change.at_ms, "from": int(change.from_level), "to": int(change.to_level),
                       "reason": change.reason, "forced": change.forced})


def _change_decode(raw: bytes | str) -> LevelChange:
    values = json.loads(raw)
    return LevelChange(values["at_ms"], Level(values["from"]), Level(values["to"]), values["reason"], values["forced"])


# The decisions, as pure functions over a record ----------------------------------------------
def _hold(held: Level, held_reason: str, candidate: Level, reason: str, improving: Mapping[Level, int],
          now: int, hold_ms: int) -> tuple[Level, str, dict[Level, int]]:
    """Hysteresis (see the module docstring): the level to hold now, its reason, and since when
    each better level has been observed continuously."""
    if candidate >= held:
        return candidate, reason, {}
    improving = {level: improving.get(level, now) for level in Level if candidate <= level < held}
    ripe = [level for level, since in improving.items() if now - since >= hold_ms]
    if not ripe:
        return held, held_reason, improving
    best = min(ripe)
    best_reason = reason if best == candidate else f"recovering towards {candidate.label}: {reason}"
    return best, best_reason, {level: since for level, since in improving.items() if level < best}


def _moved(old: _Record, new: _Record, now: int, reason: str | None = None) -> tuple[_Record, LevelChange | None]:
    """The new record and, when the effective level or forcing changed, the change."""
    if (new.level, new.forced) == (old.level, old.forced):
        return new, None
    new = replace(new, since_ms=now)
    return new, LevelChange(now, old.level, new.level, reason or new.reason, new.forced)


def _evaluated(record: _Record, candidate: Level, reason: str, now: int,
               hold_ms: int) -> tuple[_Record, LevelChange | None]:
    computed, computed_reason, improving = _hold(record.computed, record.computed_reason, candidate, reason,
                                                 record.improving, now, hold_ms)
    new = replace(record, computed=computed, computed_reason=computed_reason, improving=improving,
                  candidate=candidate, candidate_reason=reason, evaluated_ms=now)
    if not record.forced:
        new = replace(new, level=computed, reason=computed_reason)
    return _moved(record, new, now)


def _forced(record: _Record, level: Level, reason: str, now: int) -> tuple[_Record, LevelChange | None]:
    return _moved(record, replace(record, level=level, forced=True, reason=reason), now)


def _released(record: _Record, reason: str, now: int) -> tuple[_Record, LevelChange | None]:
    if not record.forced:
        return record, None
    return _moved(record, replace(record, level=record.computed, forced=False, reason=record.computed_reason),
                  now, reason)


def _blocking_probes(probes: Mapping[str, int | None], ai_providers: Collection[str],
                     rules: Sequence[LevelRule]) -> list[int | None]:
    """The next probes of the unavailable breakers the rules name (an AI provider's breaker is its
    `ai:` component); one no rule watches (storage, an integration) holds no level down."""
    components = {name: f"{AI_COMPONENT_PREFIX}{name}" if name in ai_providers else name for name in probes}
    facts = Facts(frozenset(components.values()), tuple(f"{AI_COMPONENT_PREFIX}{name}" for name in ai_providers))
    named = {culprit for rule in rules for culprit in rule.condition.culprits(facts)}
    return [probe for name, probe in probes.items() if components[name] in named]


def _recovery_at(record: _Record, now: int, hold_ms: int, interval_ms: int,
                 blocking: Sequence[int | None]) -> int | None:
    if record.forced or record.level is Level.OPTIMAL:
        return None
    if record.candidate is Level.OPTIMAL:  # healthy at the last evaluation: the hold runs
        healthy = record.improving.get(Level.OPTIMAL, record.evaluated_ms)
    elif None in blocking:  # a breaker staff forced open: it ends when they close it
        return None
    elif blocking:  # their probes; a breaker's transition is evaluated at once
        healthy = max(now, *blocking)
    else:  # failed health checks, asked again at the next scheduled evaluation
        healthy = max(now, record.evaluated_ms + interval_ms)
    # Only an evaluation applies a better level: the next scheduled one at the earliest.
    return max(healthy + hold_ms, record.evaluated_ms + interval_ms)


# Stores ---------------------------------------------------------------------------------------
Decide = Callable[[_Record, bool], tuple[_Record, "LevelChange | None"]]  # (record, shared) -> ...
STORE_TROUBLE = (*REDIS_TROUBLE, breakers.CircuitOpenError)


def _direct(request: Callable[[], T]) -> T:
    return request()


class RedisDegradationStore:
    """The shared record (a hash) and history (a list, newest first, capped)."""

    def __init__(self, client: redis.Redis, *, prefix: str, cap: int = HISTORY_CAP,
                 guard: Callable[[Callable[[], Any]], Any] = _direct) -> None:
        self.client = client
        self.cap = cap
        self.guard = guard
        self.state_key = f"{prefix}:degradation:state"
        self.history_key = f"{prefix}:degradation:history"

    def read(self) -> _Record:
        return _Record.decode(self.guard(lambda: self.client.hgetall(self.state_key)))

    def update(self, decide: Callable[[_Record], tuple[_Record, LevelChange | None]], *,
               adopt: _Record | None = None, replay: Sequence[LevelChange] = ()) -> tuple[_Record, LevelChange | None]:
        """Read, decide and write atomically (optimistic: WATCH, retried when another process
        wrote in between). `adopt` replaces the stored record when it changed more recently;
        `replay` are changes made elsewhere (this process, while Redis was away), oldest first."""

        def transaction() -> tuple[_Record, LevelChange | None]:
            with self.client.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(self.state_key)
                        record = _Record.decode(pipe.hgetall(self.state_key))
                        if adopt is not None and adopt.since_ms > record.since_ms:
                            record = adopt
                        new, change = decide(record)
                        entries = [_change_encode(c) for c in (*replay, change) if c is not None]
                        pipe.multi()
                        pipe.hset(self.state_key, mapping=new.encode())
                        if entries:
                            pipe.lpush(self.history_key, *entries)
                            pipe.ltrim(self.history_key, 0, self.cap - 1)
                        pipe.execute()
                        return new, change
                    except redis.WatchError:
                        continue

        return self.guard(transaction)

    def history(self, limit: int) -> list[LevelChange]:
        raw = self.guard(lambda: self.client.lrange(self.history_key, 0, limit - 1))
        return [_change_decode(entry) for entry in raw]


class LocalDegradationStore:
    """This process's copy: the last record read from Redis, changed here while Redis is away."""

    def __init__(self, cap: int = HISTORY_CAP) -> None:
        self._lock = threading.Lock()
        self.record = _Record()
        self._history: deque[LevelChange] = deque(maxlen=cap)
        self.unsynced: list[LevelChange] = []  # changes made here while Redis was away, oldest first
        self.diverged = False  # the record changed here while Redis was away

    def update(self, decide: Callable[[_Record], tuple[_Record, LevelChange | None]]) -> tuple[_Record, LevelChange | None]:
        with self._lock:
            self.record, change = decide(self.record)
            self.diverged = True
            if change is not None:
                self._history.appendleft(change)
                self.unsynced.append(change)
            return self.record, change

    def pending(self) -> tuple[_Record | None, list[LevelChange]]:
        with self._lock:
            return (self.record if self.diverged else None), list(self.unsynced)

    def synced(self, record: _Record, change: LevelChange | None = None, *, written_back: int | None = None) -> None:
        """Redis answered with `record`: mirror it. `written_back`: an update wrote this
        process's pending record and its first `written_back` unsynced changes to Redis."""
        with self._lock:
            self.record = record
            if written_back is not None:
                del self.unsynced[:written_back]
                self.diverged = bool(self.unsynced)  # another thread may have gone local meanwhile
            if change is not None:
                self._history.appendleft(change)

    def history(self, limit: int) -> list[LevelChange]:
        with self._lock:
            return list(self._history)[:limit]


class FailoverDegradationStore:
    """Redis while it answers; this process's memory while it does not."""

    def __init__(self, shared: RedisDegradationStore, local: LocalDegradationStore) -> None:
        self.shared = shared
        self.local = local

    def update(self, decide: Decide, *, staff: bool = False) -> tuple[_Record, LevelChange | None, bool]:
        """The new record, the change if any, and whether Redis holds them. When Redis answers
        again, what this process decided alone meanwhile is dropped, never written over the
        shared record (which may hold a level staff forced): it is decided afresh from there."""
        _, replay = self.local.pending()
        try:
            record, change = self.shared.update(lambda record: decide(record, True))
        except STORE_TROUBLE as error:
            if staff:
                raise DegradationStoreUnavailable(f"the degradation state store is unreachable ({type(error).__name__})") from error
            logger.debug("degradation: state store unreachable (%s)", type(error).__name__)
            record, change = self.local.update(lambda record: decide(record, False))
            return record, change, False
        self.local.synced(record, change, written_back=len(replay))
        if replay:
            logger.info("degradation: state store reachable again; %d local change(s) superseded", len(replay))
        return record, change, True

    def read(self) -> tuple[_Record, bool]:
        adopt, replay = self.local.pending()
        if adopt is not None or replay:  # Redis may be back: write back what happened meanwhile
            record, _, shared = self.update(lambda record, shared: (record, None))
            return record, shared
        try:
            record = self.shared.read()
        except STORE_TROUBLE:
            return self.local.record, False
        self.local.synced(record)
        return record, True

    def history(self, limit: int) -> list[LevelChange]:
        try:
            return self.shared.history(limit)
        except STORE_TROUBLE:
            return self.local.history(limit)


# The manager --------------------------------------------------------------------------------
# The clock every manager built from settings reads (seconds); tests replace it.
clock: Callable[[], float] = time.time


def _module_clock() -> float:
    return clock()


def _unavailable_breakers() -> list[Snapshot]:
    try:
        return [snapshot for snapshot in breakers.snapshots() if snapshot.state in UNAVAILABLE_STATES]
    except Exception as error:  # noqa: BLE001 - snapshots fall back to this process already
        logger.warning("degradation: breaker states unavailable (%s)", type(error).__name__)
        return []


def _open_breakers() -> set[str]:
    return {snapshot.name for snapshot in _unavailable_breakers()}


def _broadcast(change: LevelChange) -> None:
    """Tell every open chat (the channel-layer group). Errors are logged, never raised: the
    level is stored whatever happens to the push."""
    try:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(BROADCAST_GROUP, {
            "type": BROADCAST_EVENT, "level": int(change.to_level), "forced": change.forced, "reason": change.reason,
        })
    except Exception as error:  # noqa: BLE001
        logger.warning("degradation: broadcast of %s -> %s failed (%s)", change.from_level.label,
                       change.to_level.label, type(error).__name__)


class DegradationManager:
    def __init__(self, store: FailoverDegradationStore, *, hold: float = 60.0,
                 health: Callable[[], list[ComponentHealth]] = health_check,
                 open_breakers: Callable[[], Collection[str]] = _open_breakers,
                 broadcast: Callable[[LevelChange], None] = _broadcast,
                 clock: Callable[[], float] = _module_clock, rules: Sequence[LevelRule] = LEVEL_RULES) -> None:
        self.store = store
        self.hold_ms = int(hold * 1000)
        self.health = health
        self.open_breakers = open_breakers
        self.broadcast = broadcast
        self.clock = clock
        self.rules = rules

    @classmethod
    def from_settings(cls) -> DegradationManager:
        timeout = settings.RESILIENCE_REDIS_TIMEOUTS["degradation"]
        client = redis.Redis.from_url(settings.RESILIENCE_REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
        shared = RedisDegradationStore(client, prefix=settings.RESILIENCE_KEY_PREFIX, guard=_redis_guarded)
        return cls(FailoverDegradationStore(shared, LocalDegradationStore()), hold=settings.DEGRADATION_RECOVERY_HOLD)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def current(self) -> DegradationState:
        record, shared = self.store.read()
        if not shared and not record.forced and record.level < Level.DEGRADED:
            return DegradationState(Level.DEGRADED, False, STORE_AWAY_REASON, record.since_ms)
        return record.state()

    def evaluate(self) -> LevelChange | None:
        candidate, reason = level_compute(self.health(), self.open_breakers(), self.rules)
        now = self.now_ms()

        def decide(record: _Record, shared: bool) -> tuple[_Record, LevelChange | None]:
            level, why = candidate, reason
            if not shared:  # this process alone knows the state: at least DEGRADED
                level, why = (level, f"{why}; {STORE_AWAY_REASON}") if level >= Level.DEGRADED else (
                    Level.DEGRADED, STORE_AWAY_REASON)
            return _evaluated(record, level, why, now, self.hold_ms)

        _, change, shared = self.store.update(decide)
        if not shared:
            logger.warning("degradation: state store unreachable, the level is kept in this process")
        self._announce(change)
        return change

    def force(self, *, level: Level, reason: str) -> LevelChange | None:
        level, now = Level(level), self.now_ms()
        _, change, _ = self.store.update(lambda record, shared: _forced(record, level, reason, now), staff=True)
        self._announce(change)
        return change

    def release(self, *, reason: str) -> LevelChange | None:
        now = self.now_ms()
        _, change, _ = self.store.update(lambda record, shared: _released(record, reason, now), staff=True)
        self._announce(change)
        return change

    def history(self, *, limit: int = 50) -> list[LevelChange]:
        return self.store.history(max(1, min(limit, HISTORY_CAP)))

    def recovery_at_ms(self, *, probes: Mapping[str, int | None], ai_providers: Collection[str],
                       interval: float) -> int | None:
        """See `degradation_recovery_at_ms`; `probes`: every unavailable breaker's next probe."""
        record, shared = self.store.read()
        if not shared:  # this process's copy only: what the shared level will do is unknown
            return None
        return _recovery_at(record, self.now_ms(), self.hold_ms, int(interval * 1000),
                            _blocking_probes(probes, ai_providers, self.rules))

    def _announce(self, change: LevelChange | None) -> None:
        if change is None:
            return
        worse = change.to_level > change.from_level
        logger.log(logging.WARNING if worse else logging.INFO, "degradation level %s -> %s%s (%s)",
                   change.from_level.label, change.to_level.label, ", forced" if change.forced else "", change.reason)
        self.broadcast(change)


def _redis_guarded(request: Callable[[], T]) -> T:
    """A Redis call through the `redis` breaker (this process's own, shared with the breaker store)."""
    return breakers.get_breaker(REDIS_BREAKER).call_sync(request)


@cache
def _manager() -> DegradationManager:
    return DegradationManager.from_settings()


def reset_manager() -> None:
    """Forget the manager built from settings (when they change, e.g. in tests)."""
    _manager.cache_clear()


# The public API -------------------------------------------------------------------------------
# Per thread: a manager operation is running, and an evaluation was requested meanwhile (a
# `redis` breaker transition caused by the operation's own Redis calls). That evaluation runs
# right after the operation, never nested inside it.
_thread = threading.local()


def _exclusive(operation: Callable[[], T]) -> T:
    if getattr(_thread, "busy", False):
        return operation()
    _thread.busy, _thread.again = True, False
    try:
        result = operation()
        while _thread.again:
            _thread.again = False
            _manager().evaluate()
        return result
    finally:
        _thread.busy = _thread.again = False


def degradation_current() -> DegradationState:
    """The effective level: from Redis, else this process's copy (then at least DEGRADED)."""
    return _exclusive(lambda: _manager().current())


def degradation_evaluate() -> LevelChange | None:
    """Check health, apply the rules and the hysteresis, store, and broadcast a change."""
    return _exclusive(lambda: _manager().evaluate())


def degradation_force(*, level: Level, reason: str) -> LevelChange | None:
    """Staff: hold `level` until released. Raises DegradationStoreUnavailable without Redis."""
    return _exclusive(lambda: _manager().force(level=level, reason=reason))


def degradation_release(*, reason: str) -> LevelChange | None:
    """Staff: back to the computed level. Raises DegradationStoreUnavailable without Redis."""
    return _exclusive(lambda: _manager().release(reason=reason))


def degradation_history(*, limit: int = 50) -> list[LevelChange]:
    """The latest changes, newest first (at most HISTORY_CAP are kept)."""
    return _exclusive(lambda: _manager().history(limit=limit))


def degradation_recovery_at_ms() -> int | None:
    """The earliest the level can be back to OPTIMAL by itself (ms since the epoch), computed from
    what is known now: the next probes of the open breakers that hold it down (or the next
    evaluation, which asks failed health checks again), then the recovery hold, applied by an
    evaluation. An estimate, not a promise: a probe may fail, something else may fail meanwhile.
    None when the level is OPTIMAL, forced (it stays until released), held down by a breaker
    staff forced open, or known from this process's copy only."""
    probes = {snapshot.name: breakers.next_probe_at_ms(snapshot) for snapshot in _unavailable_breakers()}
    return _exclusive(lambda: _manager().recovery_at_ms(
        probes=probes, ai_providers=configured_ai_providers(), interval=settings.DEGRADATION_EVAL_INTERVAL))


class _Requests:
    """Requested evaluations: at most one runs per process, in a background thread of its own
    (never inline in the requester's thread: an event loop, Channels' database thread, a probe);
    requests arriving meanwhile make it go round once more."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued = False
        self._again = False

    def submit(self) -> None:
        with self._lock:
            if self._queued:
                self._again = True
                return
            self._queued = True
        try:
            threading.Thread(target=self._drain, name="degradation-evaluation", daemon=True).start()
        except Exception:
            with self._lock:
                self._queued = False
            raise

    def _drain(self) -> None:
        while True:
            with self._lock:
                self._again = False
            _evaluate_quietly()
            with self._lock:
                if not self._again:
                    self._queued = False
                    return


_requests = _Requests()


def _evaluate_quietly() -> None:
    try:
        degradation_evaluate()
    except Exception:  # noqa: BLE001 - a requested evaluation must not break its requester
        logger.exception("degradation: evaluation failed")


def request_evaluation() -> None:
    """Re-evaluate soon, in the background; never raises, never blocks the caller."""
    try:
        _requests.submit()
    except Exception:  # noqa: BLE001
        logger.exception("degradation: could not request an evaluation")


def on_breaker_transition(breaker: str, transition: Transition) -> None:
    """A breaker changed state: the level may have changed too (a `breakers.transition_hooks` entry)."""
    request_evaluation()


# Readiness (/readyz) --------------------------------------------------------------------------
@dataclass(frozen=True)
class Readiness:
    status: str  # "ready" | "degraded" | "unavailable"
    state: DegradationState
    components: list[ComponentHealth]

    @property
    def http_status(self) -> int:
        return 503 if self.status == "unavailable" else 200

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "level": self.state.level.label, "forced": self.state.forced,
            "components": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.components],
        }


def _in_rotation(state: DegradationState) -> bool:
    """Only EMERGENCY takes a process out: at MINIMAL (database down) it still serves the status
    and keeps answers, so the load balancer must keep it."""
    return state.level is not Level.EMERGENCY


def readiness_in_rotation() -> bool:
    """What a load balancer polls for: one read of the stored level, no health check."""
    return _in_rotation(degradation_current())


def readiness_check() -> Readiness:
    """The details, for operators: the stored level, and the database and Redis checks — no AI
    probes, so it stays cheap enough to poll."""
    components = health_check(only=("database", "redis"))
    state = degradation_current()
    if not _in_rotation(state):
        status = "unavailable"
    elif state.level > Level.OPTIMAL or not all(component.ok for component in components):
        status = "degraded"
    else:
        status = "ready"
    return Readiness(status, state, components)
