"""Where breaker state lives: Redis (shared by every process), or this process as a fallback.

`RedisBreakerStore` makes each shared decision with one Lua script, so it is atomic across
processes and costs one round trip; most decisions need none (see its docstring). `LocalBreakerStore` runs the same machine (`machine.py`) in memory.
`FailoverBreakerStore` uses Redis while it answers and this process's memory while it does
not; Redis's own health is tracked by the `redis` breaker (`RedisHealth`), kept locally (it
cannot live in the Redis it guards), so a dead Redis costs a few failed connections, not one
per decision.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

import redis

from resilience import machine
from resilience.machine import Limits, Outcome, Permit, Snapshot, State, Transition

T = TypeVar("T")
REDIS_BREAKER = "redis"

_LUA_HELPERS = """
local function int(value) if value then return tonumber(value) or 0 end return 0 end
local function move(key, to, now, reason)
  local gen = redis.call('HINCRBY', key, 'gen', 1)
  redis.call('HSET', key, 'state', to, 'changed_at', now, 'reason', reason,
             'win_start', now, 'win_calls', 0, 'win_fail', 0, 'probe_until', 0)
  redis.call('HINCRBY', key, 'changes', 1)
  if to == 'open' then redis.call('HSET', key, 'opened_at', now) end
  return gen
end
-- Counts this process kept back (see RedisBreakerStore): calls, successes and fallbacks seen
-- in generation `gen` and window `win_start`. Successes join the window only if it is still
-- that window of that generation, CLOSED; otherwise they only add to the totals.
local function apply_pending(key, gen, win_start, calls, successes, fallbacks)
  if calls > 0 then redis.call('HINCRBY', key, 'calls', calls) end
  if fallbacks > 0 then redis.call('HINCRBY', key, 'fallbacks', fallbacks) end
  if successes > 0 then
    redis.call('HINCRBY', key, 'successes', successes)
    local r = redis.call('HMGET', key, 'state', 'gen', 'win_start')
    if (r[1] or 'closed') == 'closed' and int(r[2]) == gen and int(r[3]) == win_start then
      redis.call('HINCRBY', key, 'win_calls', successes)
    end
  end
end
local function view(key)
  return redis.call('HMGET', key, 'state', 'gen', 'opened_at', 'win_start', 'win_fail')
end
"""

# KEYS: record, names set. ARGV: name, now, recovery_ms, lease_ms, pending gen/win_start/calls/
# successes/fallbacks. Returns {allowed, probe, from_state, reason, state, generation, opened_at, win_start}.
ACQUIRE_LUA = _LUA_HELPERS + """
local key = KEYS[1]
local now = tonumber(ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
apply_pending(key, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]))
local r = redis.call('HMGET', key, 'state', 'opened_at', 'probe_until')
local state = r[1] or 'closed'
local allowed, probe, from, reason = 0, 0, '', ''
if state == 'closed' or state == 'forced_closed' then
  allowed = 1
elseif state == 'open' and now >= int(r[2]) + tonumber(ARGV[3]) then
  reason = 'recovery timeout elapsed'
  move(key, 'half_open', now, reason)
  redis.call('HSET', key, 'probe_until', now + tonumber(ARGV[4]))
  allowed, probe, from = 1, 1, 'open'
elseif state == 'half_open' and now >= int(r[3]) then
  redis.call('HSET', key, 'probe_until', now + tonumber(ARGV[4]))
  allowed, probe = 1, 1
end
redis.call('HINCRBY', key, allowed == 1 and 'calls' or 'fallbacks', 1)
local v = view(key)
return {allowed, probe, from, reason, v[1] or 'closed', int(v[2]), int(v[3]), int(v[4]), int(v[5])}
"""

# KEYS: record. ARGV: now, generation, probe, outcome, fallback_served, failure_threshold,
# volume_threshold, window_ms, pending gen/win_start/calls/successes/fallbacks.
# Returns {from_state, reason, state, generation, opened_at, win_start, win_fail}.
SETTLE_LUA = _LUA_HELPERS + """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local outcome = ARGV[4]
apply_pending(key, tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13]))
if outcome == 'success' then redis.call('HINCRBY', key, 'successes', 1)
elseif outcome == 'ignored' then redis.call('HINCRBY', key, 'ignored', 1)
else redis.call('HINCRBY', key, 'failures', 1) end
if outcome == 'timeout' then redis.call('HINCRBY', key, 'timeouts', 1) end
if ARGV[5] == '1' then redis.call('HINCRBY', key, 'fallbacks', 1) end
local function reply(from, reason)
  local v = view(key)
  return {from, reason, v[1] or 'closed', int(v[2]), int(v[3]), int(v[4]), int(v[5])}
end
local r = redis.call('HMGET', key, 'state', 'gen', 'win_start', 'win_calls', 'win_fail')
local state = r[1] or 'closed'
if int(r[2]) ~= tonumber(ARGV[2]) then return reply('', '') end
local failed = outcome == 'failure' or outcome == 'timeout'
if state == 'half_open' and ARGV[3] == '1' then
  if outcome == 'success' then
    move(key, 'closed', now, 'probe succeeded')
    return reply('half_open', 'probe succeeded')
  end
  if failed then
    local reason = 'probe failed (' .. outcome .. ')'
    move(key, 'open', now, reason)
    return reply('half_open', reason)
  end
  redis.call('HSET', key, 'probe_until', 0)
  return reply('', '')
end
if state ~= 'closed' or outcome == 'ignored' then return reply('', '') end
local win_start, calls, fails = int(r[3]), int(r[4]), int(r[5])
if now >= win_start + tonumber(ARGV[8]) then win_start, calls, fails = now, 0, 0 end
calls = calls + 1
if failed then fails = fails + 1 end
if calls >= tonumber(ARGV[7]) and fails >= tonumber(ARGV[6]) then
  local reason = fails .. ' failures in ' .. calls .. ' calls'
  move(key, 'open', now, reason)
  return reply('closed', reason)
end
redis.call('HSET', key, 'win_start', win_start, 'win_calls', calls, 'win_fail', fails)
return reply('', '')
"""

# KEYS: record, names set. ARGV: name, now, to_state, reason, pending gen/win_start/calls/
# successes/fallbacks. Returns {from_state, reason, state, generation, opened_at, win_start, win_fail}.
FORCE_LUA = _LUA_HELPERS + """
redis.call('SADD', KEYS[2], ARGV[1])
apply_pending(KEYS[1], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]))
local from = redis.call('HGET', KEYS[1], 'state') or 'closed'
move(KEYS[1], ARGV[3], tonumber(ARGV[2]), ARGV[4])
local v = view(KEYS[1])
return {from, ARGV[4], v[1], int(v[2]), int(v[3]), int(v[4]), int(v[5])}
"""

# KEYS: record. ARGV: pending gen/win_start/calls/successes/fallbacks. Returns nothing.
FLUSH_LUA = _LUA_HELPERS + """
apply_pending(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
return 0
"""


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class _Mirror:
    """What this process last learned of a breaker from Redis, trusted until `expires`."""

    state: State
    generation: int
    opened_at: int
    win_start: int
    win_failures: int
    expires: int


@dataclass
class _Pending:
    """Counts kept back from Redis until the next round trip for the breaker, all seen in one
    generation and window."""

    generation: int = -1
    win_start: int = -1
    calls: int = 0
    successes: int = 0
    fallbacks: int = 0

    def args(self) -> list[int]:
        return [self.generation, self.win_start, self.calls, self.successes, self.fallbacks]

    def merge(self, other: _Pending) -> None:
        """Counts that could not be sent come back (totals only if their window has passed)."""
        self.calls += other.calls
        self.fallbacks += other.fallbacks
        self.successes += other.successes


def _decoded(record: dict[bytes, bytes]) -> dict[str, str]:
    return {key.decode(): value.decode() for key, value in record.items()}


class BreakerStore(Protocol):
    def acquire(self, name: str, now: int, limits: Limits) -> Permit: ...
    async def aacquire(self, name: str, now: int, limits: Limits) -> Permit: ...
    def settle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
               limits: Limits) -> Transition | None: ...
    async def asettle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
                      limits: Limits) -> Transition | None: ...
    def force(self, name: str, now: int, to: State, reason: str) -> Transition: ...
    def snapshots(self, names: Iterable[str]) -> list[Snapshot]: ...
    def known_names(self) -> set[str]: ...


class LocalBreakerStore:
    """Breaker records in this process's memory."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def acquire(self, name: str, now: int, limits: Limits) -> Permit:
        with self._lock:
            return machine.acquire(self._records.setdefault(name, {}), now, limits)

    async def aacquire(self, name: str, now: int, limits: Limits) -> Permit:
        return self.acquire(name, now, limits)

    def settle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
               limits: Limits) -> Transition | None:
        with self._lock:
            record = self._records.setdefault(name, {})
            return machine.settle(record, now, permit.generation, permit.probe, outcome, fallback_served, limits)

    async def asettle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
                      limits: Limits) -> Transition | None:
        return self.settle(name, now, permit, outcome, fallback_served, limits)

    def force(self, name: str, now: int, to: State, reason: str) -> Transition:
        with self._lock:
            return machine.force(self._records.setdefault(name, {}), now, to, reason)

    def snapshots(self, names: Iterable[str]) -> list[Snapshot]:
        with self._lock:
            return [machine.snapshot(name, dict(self._records.get(name, {}))) for name in names]

    def known_names(self) -> set[str]:
        with self._lock:
            return set(self._records)


class RedisBreakerStore:
    """Breaker records as Redis hashes `<prefix>:breaker:<name>`, changed only by Lua scripts.

    The hot path usually needs no round trip at all. Each script reply tells this process the
    breaker's state, which it trusts for `mirror_ttl` seconds: while it is CLOSED (or forced
    closed), calls are admitted locally, and while it is OPEN (or forced open) calls are
    refused locally until the recovery timeout; anything else (HALF_OPEN's probe, a stale
    view) asks Redis. Successes that cannot change the state are counted locally too, and sent
    with the next round trip (a failure, a refresh, a snapshot, a flush at exit). So another
    process's transition reaches this one within `mirror_ttl`; within one process every
    decision is exactly the machine's. Round trips run the sync client in a worker thread from
    async code: with the local view they are rare, and no client is tied to an event loop.
    Processes must share a clock (NTP): times come from the callers.
    """

    def __init__(self, url: str, *, prefix: str, socket_timeout: float = 0.5, mirror_ttl: float = 0.25,
                 health: RedisHealth | None = None, mirror_clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.prefix = prefix
        self.health = health
        self.mirror_ttl = mirror_ttl
        self.mirror_clock = mirror_clock  # monotonic: a wall clock stepping back cannot freeze the view
        self.client = redis.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout)
        self._scripts = {lua: self.client.register_script(lua) for lua in (ACQUIRE_LUA, SETTLE_LUA, FORCE_LUA, FLUSH_LUA)}
        self._reset_local_state()
        os.register_at_fork(after_in_child=self._reset_local_state)  # a forked worker starts clean

    def _reset_local_state(self) -> None:
        self._lock = threading.Lock()
        self._mirror: dict[str, _Mirror] = {}
        self._pending: dict[str, _Pending] = {}

    def _key(self, name: str) -> str:
        return f"{self.prefix}:breaker:{name}"

    @property
    def _names_key(self) -> str:
        return f"{self.prefix}:breakers"

    def _remote(self, request: Callable[[], T]) -> T:
        return self.health.guarded(request) if self.health else request()

    # The local side: decisions from the mirror, counts kept back ----------------------------
    def _fresh(self, name: str) -> _Mirror | None:
        mirror = self._mirror.get(name)
        return mirror if mirror is not None and self.mirror_clock() < mirror.expires else None

    def _pending_for(self, name: str, mirror: _Mirror) -> _Pending | None:
        pending = self._pending.setdefault(name, _Pending(mirror.generation, mirror.win_start))
        same = (pending.generation, pending.win_start) == (mirror.generation, mirror.win_start)
        return pending if same else None

    def _local_permit(self, name: str, now: int, limits: Limits) -> tuple[Permit | None, _Pending]:
        """A decision from the mirror, or (None, the counts to send) when Redis must decide."""
        with self._lock:
            mirror = self._fresh(name)
            if mirror is not None:
                refusing = mirror.state is State.FORCED_OPEN or (
                    mirror.state is State.OPEN and now < mirror.opened_at + limits.recovery_ms)
                if (mirror.state in (State.CLOSED, State.FORCED_CLOSED) or refusing) and (
                        pending := self._pending_for(name, mirror)) is not None:
                    if refusing:
                        pending.fallbacks += 1
                        return Permit(False, False, mirror.generation, mirror.state, shared=True), pending
                    pending.calls += 1
                    return Permit(True, False, mirror.generation, mirror.state, shared=True), pending
            return None, self._pending.pop(name, _Pending())

    def _local_success(self, name: str, now: int, permit: Permit, outcome: Outcome, limits: Limits) -> bool:
        """Count a success locally when it cannot change the state: CLOSED, in the current
        window, with fewer failures in it than open the breaker (else the success may complete
        the volume that opens it, and Redis must decide)."""
        if outcome is not Outcome.SUCCESS or permit.probe:
            return False
        with self._lock:
            mirror = self._fresh(name)
            if (mirror is None or mirror.generation != permit.generation
                    or mirror.state not in (State.CLOSED, State.FORCED_CLOSED)
                    or (mirror.state is State.CLOSED and (now >= mirror.win_start + limits.window_ms
                                                          or mirror.win_failures >= limits.failure_threshold))):
                return False
            pending = self._pending_for(name, mirror)
            if pending is None:
                return False
            pending.successes += 1
            return True

    def _take_pending(self, name: str) -> _Pending:
        with self._lock:
            return self._pending.pop(name, _Pending())

    def _give_back(self, name: str, pending: _Pending) -> None:
        with self._lock:
            self._pending.setdefault(name, _Pending(pending.generation, pending.win_start)).merge(pending)

    def _sent(self, name: str, pending: _Pending, request: Callable[[], T]) -> T:
        """A round trip carrying the counts kept back; if it fails they are kept for the next."""
        try:
            return self._remote(request)
        except REDIS_TROUBLE:
            self._give_back(name, pending)
            raise

    def _learn(self, name: str, state: Any, generation: Any, opened_at: Any, win_start: Any,
               win_failures: Any) -> State:
        state, generation = State(_text(state)), int(generation)
        with self._lock:
            known = self._fresh(name)
            # Replies may come back out of order (threads): never step back a generation.
            if known is None or generation >= known.generation:
                self._mirror[name] = _Mirror(state, generation, int(opened_at), int(win_start), int(win_failures),
                                             self.mirror_clock() + self.mirror_ttl)
        return state

    # Replies --------------------------------------------------------------------------------
    def _permit(self, name: str, reply: list[Any]) -> Permit:
        allowed, probe, from_state, reason, state, generation, *window = map(_text, reply)
        state = self._learn(name, state, generation, *window)
        transition = Transition(State(from_state), state, reason) if from_state else None
        return Permit(bool(allowed), bool(probe), int(generation), state, transition, shared=True)

    def _transition(self, name: str, reply: list[Any]) -> Transition | None:
        from_state, reason, state, generation, *window = map(_text, reply)
        state = self._learn(name, state, generation, *window)
        return Transition(State(from_state), state, reason) if from_state else None

    # The store interface --------------------------------------------------------------------
    def _acquire_remote(self, name: str, now: int, limits: Limits, pending: _Pending) -> Permit:
        args = [name, now, limits.recovery_ms, limits.lease_ms, *pending.args()]
        reply = self._sent(name, pending, lambda: self._scripts[ACQUIRE_LUA](
            keys=[self._key(name), self._names_key], args=args))
        return self._permit(name, reply)

    def _settle_remote(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
                       limits: Limits) -> Transition | None:
        pending = self._take_pending(name)
        args = [now, permit.generation, int(permit.probe), str(outcome), int(fallback_served),
                limits.failure_threshold, limits.volume_threshold, limits.window_ms, *pending.args()]
        return self._transition(name, self._sent(name, pending, lambda: self._scripts[SETTLE_LUA](
            keys=[self._key(name)], args=args)))

    def acquire(self, name: str, now: int, limits: Limits) -> Permit:
        permit, pending = self._local_permit(name, now, limits)
        return permit if permit is not None else self._acquire_remote(name, now, limits, pending)

    async def aacquire(self, name: str, now: int, limits: Limits) -> Permit:
        permit, pending = self._local_permit(name, now, limits)
        if permit is not None:
            return permit
        return await asyncio.to_thread(self._acquire_remote, name, now, limits, pending)

    def settle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
               limits: Limits) -> Transition | None:
        if self._local_success(name, now, permit, outcome, limits):
            return None
        return self._settle_remote(name, now, permit, outcome, fallback_served, limits)

    async def asettle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
                      limits: Limits) -> Transition | None:
        if self._local_success(name, now, permit, outcome, limits):
            return None
        return await asyncio.to_thread(self._settle_remote, name, now, permit, outcome, fallback_served, limits)

    def force(self, name: str, now: int, to: State, reason: str) -> Transition:
        pending = self._take_pending(name)
        args = [name, now, str(to), reason, *pending.args()]
        return self._transition(name, self._sent(name, pending, lambda: self._scripts[FORCE_LUA](
            keys=[self._key(name), self._names_key], args=args)))

    def flush(self) -> None:
        """Send the counts this process kept back (before reading them, and at exit)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for name, counts in pending.items():
            self._sent(name, counts, lambda: self._scripts[FLUSH_LUA](keys=[self._key(name)], args=counts.args()))

    def snapshots(self, names: Iterable[str]) -> list[Snapshot]:
        self.flush()
        names = list(names)
        pipeline = self.client.pipeline(transaction=False)
        for name in names:
            pipeline.hgetall(self._key(name))
        records = self._remote(pipeline.execute)
        return [replace(machine.snapshot(name, _decoded(record)), shared=True) for name, record in zip(names, records)]

    def known_names(self) -> set[str]:
        return {name.decode() for name in self._remote(lambda: self.client.smembers(self._names_key))}


class RedisUnavailable(Exception):
    """Redis was not asked: the `redis` breaker is open in this process."""


class RedisHealth:
    """The `redis` breaker, kept in this process (it cannot live in the Redis it guards), and
    consulted around every request the Redis store sends."""

    def __init__(self, local: LocalBreakerStore, limits: Limits, on_transition: Callable[[Transition], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.local = local
        self.limits = limits
        self.on_transition = on_transition
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _admit(self) -> Permit:
        permit = self.local.acquire(REDIS_BREAKER, self._now(), self.limits)
        if permit.transition:
            self.on_transition(permit.transition)
        if not permit.allowed:
            raise RedisUnavailable(REDIS_BREAKER)
        return permit

    def _settle(self, permit: Permit, outcome: Outcome) -> None:
        transition = self.local.settle(REDIS_BREAKER, self._now(), permit, outcome, False, self.limits)
        if transition:
            self.on_transition(transition)

    def guarded(self, request: Callable[[], T]) -> T:
        permit = self._admit()
        try:
            result = request()
        except (redis.RedisError, OSError):
            self._settle(permit, Outcome.FAILURE)
            raise
        self._settle(permit, Outcome.SUCCESS)
        return result


REDIS_TROUBLE = (redis.RedisError, OSError, RedisUnavailable)


class FailoverBreakerStore:
    """Redis while it answers; this process's memory while it does not (see module docstring).
    The `redis` breaker's own record is always this process's."""

    def __init__(self, shared: RedisBreakerStore, local: LocalBreakerStore) -> None:
        self.shared = shared
        self.local = local

    def _store_for(self, name: str) -> BreakerStore:
        return self.local if name == REDIS_BREAKER else self.shared

    def acquire(self, name: str, now: int, limits: Limits) -> Permit:
        try:
            return self._store_for(name).acquire(name, now, limits)
        except REDIS_TROUBLE:
            return self.local.acquire(name, now, limits)

    async def aacquire(self, name: str, now: int, limits: Limits) -> Permit:
        try:
            return await self._store_for(name).aacquire(name, now, limits)
        except REDIS_TROUBLE:
            return self.local.acquire(name, now, limits)

    # A result is settled where its permit was issued. A shared permit whose result cannot
    # reach Redis is counted here without deciding anything (generation -1 never matches).

    def settle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
               limits: Limits) -> Transition | None:
        if not permit.shared:
            return self.local.settle(name, now, permit, outcome, fallback_served, limits)
        try:
            return self.shared.settle(name, now, permit, outcome, fallback_served, limits)
        except REDIS_TROUBLE:
            return self.local.settle(name, now, replace(permit, generation=-1), outcome, fallback_served, limits)

    async def asettle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
                      limits: Limits) -> Transition | None:
        if not permit.shared:
            return self.local.settle(name, now, permit, outcome, fallback_served, limits)
        try:
            return await self.shared.asettle(name, now, permit, outcome, fallback_served, limits)
        except REDIS_TROUBLE:
            return self.local.settle(name, now, replace(permit, generation=-1), outcome, fallback_served, limits)

    def force(self, name: str, now: int, to: State, reason: str) -> Transition:
        """Staff's actions must reach every process: with Redis away they fail (REDIS_TROUBLE)
        rather than change one process only. The `redis` breaker is each process's own."""
        return self._store_for(name).force(name, now, to, reason)

    def snapshots(self, names: Iterable[str]) -> list[Snapshot]:
        names = list(names)
        shared_names = [name for name in names if name != REDIS_BREAKER]
        try:
            shared = self.shared.snapshots(shared_names)
        except REDIS_TROUBLE:
            shared = self.local.snapshots(shared_names)
        found = {snapshot.name: snapshot for snapshot in [*shared, *self.local.snapshots([REDIS_BREAKER])]}
        return [found[name] for name in names]

    def known_names(self) -> set[str]:
        try:
            names = self.shared.known_names()
        except REDIS_TROUBLE:
            names = self.local.known_names()
        return names | {REDIS_BREAKER}
