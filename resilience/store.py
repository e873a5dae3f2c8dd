"""Where breaker state lives: Redis (shared by every process), or this process as a fallback.

`RedisBreakerStore` makes each decision with one Lua script, so it is atomic across processes
and costs one round trip. `LocalBreakerStore` runs the same machine (`machine.py`) in memory.
`FailoverBreakerStore` uses Redis while it answers and this process's memory while it does
not; Redis's own health is tracked by the `redis` breaker, kept locally (it cannot live in the
Redis it guards), so a dead Redis costs a few failed connections, not one per decision.
"""
from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

import redis
import redis.asyncio as aioredis

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
"""

# KEYS: record, names set. ARGV: name, now, recovery_ms, lease_ms.
# Returns {allowed, probe, generation, state, from_state, reason}.
ACQUIRE_LUA = _LUA_HELPERS + """
local key = KEYS[1]
local now = tonumber(ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
local r = redis.call('HMGET', key, 'state', 'gen', 'opened_at', 'probe_until')
local state = r[1] or 'closed'
local gen = int(r[2])
if state == 'closed' or state == 'forced_closed' then
  redis.call('HINCRBY', key, 'calls', 1)
  return {1, 0, gen, state, '', ''}
end
if state == 'open' and now >= int(r[3]) + tonumber(ARGV[3]) then
  local reason = 'recovery timeout elapsed'
  gen = move(key, 'half_open', now, reason)
  redis.call('HSET', key, 'probe_until', now + tonumber(ARGV[4]))
  redis.call('HINCRBY', key, 'calls', 1)
  return {1, 1, gen, 'half_open', 'open', reason}
end
if state == 'half_open' and now >= int(r[4]) then
  redis.call('HSET', key, 'probe_until', now + tonumber(ARGV[4]))
  redis.call('HINCRBY', key, 'calls', 1)
  return {1, 1, gen, state, '', ''}
end
redis.call('HINCRBY', key, 'fallbacks', 1)
return {0, 0, gen, state, '', ''}
"""

# KEYS: record. ARGV: now, generation, probe, outcome, fallback_served, failure_threshold,
# volume_threshold, window_ms. Returns {state, from_state, reason}.
SETTLE_LUA = _LUA_HELPERS + """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local outcome = ARGV[4]
if outcome == 'success' then redis.call('HINCRBY', key, 'successes', 1)
elseif outcome == 'ignored' then redis.call('HINCRBY', key, 'ignored', 1)
else redis.call('HINCRBY', key, 'failures', 1) end
if outcome == 'timeout' then redis.call('HINCRBY', key, 'timeouts', 1) end
if ARGV[5] == '1' then redis.call('HINCRBY', key, 'fallbacks', 1) end
local r = redis.call('HMGET', key, 'state', 'gen', 'win_start', 'win_calls', 'win_fail')
local state = r[1] or 'closed'
if int(r[2]) ~= tonumber(ARGV[2]) then return {state, '', ''} end
local failed = outcome == 'failure' or outcome == 'timeout'
if state == 'half_open' and ARGV[3] == '1' then
  if outcome == 'success' then
    move(key, 'closed', now, 'probe succeeded')
    return {'closed', 'half_open', 'probe succeeded'}
  end
  if failed then
    local reason = 'probe failed (' .. outcome .. ')'
    move(key, 'open', now, reason)
    return {'open', 'half_open', reason}
  end
  redis.call('HSET', key, 'probe_until', 0)
  return {state, '', ''}
end
if state ~= 'closed' or outcome == 'ignored' then return {state, '', ''} end
local win_start, calls, fails = int(r[3]), int(r[4]), int(r[5])
if now >= win_start + tonumber(ARGV[8]) then win_start, calls, fails = now, 0, 0 end
calls = calls + 1
if failed then fails = fails + 1 end
if calls >= tonumber(ARGV[7]) and fails >= tonumber(ARGV[6]) then
  local reason = fails .. ' failures in ' .. calls .. ' calls'
  move(key, 'open', now, reason)
  return {'open', 'closed', reason}
end
redis.call('HSET', key, 'win_start', win_start, 'win_calls', calls, 'win_fail', fails)
return {state, '', ''}
"""

# KEYS: record, names set. ARGV: name, now, to_state, reason. Returns {from_state}.
FORCE_LUA = _LUA_HELPERS + """
redis.call('SADD', KEYS[2], ARGV[1])
local from = redis.call('HGET', KEYS[1], 'state') or 'closed'
move(KEYS[1], ARGV[3], tonumber(ARGV[2]), ARGV[4])
return {from}
"""


def _permit(reply: list[Any]) -> Permit:
    allowed, probe, generation, state, from_state, reason = (
        value.decode() if isinstance(value, bytes) else value for value in reply
    )
    transition = Transition(State(from_state), State(state), reason) if from_state else None
    return Permit(bool(allowed), bool(probe), int(generation), State(state), transition)


def _settled(reply: list[Any]) -> Transition | None:
    state, from_state, reason = (value.decode() if isinstance(value, bytes) else value for value in reply)
    return Transition(State(from_state), State(state), reason) if from_state else None


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
    """Breaker records as Redis hashes `<prefix>:breaker:<name>`, changed only by Lua scripts."""

    def __init__(self, url: str, *, prefix: str, socket_timeout: float = 0.5) -> None:
        self.url = url
        self.prefix = prefix
        self.socket_timeout = socket_timeout
        self.client = redis.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout)
        self._acquire = self.client.register_script(ACQUIRE_LUA)
        self._settle = self.client.register_script(SETTLE_LUA)
        self._force = self.client.register_script(FORCE_LUA)
        # redis.asyncio clients belong to one event loop: keep one per loop.
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, ...]] = (
            weakref.WeakKeyDictionary()
        )

    def _key(self, name: str) -> str:
        return f"{self.prefix}:breaker:{name}"

    @property
    def _names_key(self) -> str:
        return f"{self.prefix}:breakers"

    def _async_scripts(self) -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        if loop not in self._async:
            client = aioredis.Redis.from_url(
                self.url, socket_timeout=self.socket_timeout, socket_connect_timeout=self.socket_timeout
            )
            self._async[loop] = (client, client.register_script(ACQUIRE_LUA), client.register_script(SETTLE_LUA))
        _, acquire, settle = self._async[loop]
        return acquire, settle

    @staticmethod
    def _acquire_args(name: str, now: int, limits: Limits) -> list[Any]:
        return [name, now, limits.recovery_ms, limits.lease_ms]

    @staticmethod
    def _settle_args(now: int, permit: Permit, outcome: Outcome, fallback_served: bool, limits: Limits) -> list[Any]:
        return [now, permit.generation, int(permit.probe), str(outcome), int(fallback_served),
                limits.failure_threshold, limits.volume_threshold, limits.window_ms]

    def acquire(self, name: str, now: int, limits: Limits) -> Permit:
        return _permit(self._acquire(keys=[self._key(name), self._names_key],
                                     args=self._acquire_args(name, now, limits)))

    async def aacquire(self, name: str, now: int, limits: Limits) -> Permit:
        acquire, _ = self._async_scripts()
        return _permit(await acquire(keys=[self._key(name), self._names_key],
                                     args=self._acquire_args(name, now, limits)))

    def settle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
               limits: Limits) -> Transition | None:
        return _settled(self._settle(keys=[self._key(name)],
                                     args=self._settle_args(now, permit, outcome, fallback_served, limits)))

    async def asettle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
                      limits: Limits) -> Transition | None:
        _, settle = self._async_scripts()
        return _settled(await settle(keys=[self._key(name)],
                                     args=self._settle_args(now, permit, outcome, fallback_served, limits)))

    def force(self, name: str, now: int, to: State, reason: str) -> Transition:
        (from_state,) = self._force(keys=[self._key(name), self._names_key], args=[name, now, str(to), reason])
        return Transition(State(from_state.decode()), to, reason)

    def snapshots(self, names: Iterable[str]) -> list[Snapshot]:
        names = list(names)
        pipeline = self.client.pipeline(transaction=False)
        for name in names:
            pipeline.hgetall(self._key(name))
        return [machine.snapshot(name, _decoded(record)) for name, record in zip(names, pipeline.execute())]

    def known_names(self) -> set[str]:
        return {name.decode() for name in self.client.smembers(self._names_key)}


class FailoverBreakerStore:
    """Redis while it answers; this process's memory while it does not (see module docstring)."""

    def __init__(self, shared: RedisBreakerStore, local: LocalBreakerStore, redis_limits: Limits,
                 on_redis_transition: Callable[[Transition], None], clock: Callable[[], float] = time.time) -> None:
        self.shared = shared
        self.local = local
        self.redis_limits = redis_limits
        self.on_redis_transition = on_redis_transition
        self.clock = clock

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def _health_permit(self) -> Permit:
        permit = self.local.acquire(REDIS_BREAKER, self._now(), self.redis_limits)
        if permit.transition:
            self.on_redis_transition(permit.transition)
        return permit

    def _health_settle(self, permit: Permit, outcome: Outcome) -> None:
        transition = self.local.settle(REDIS_BREAKER, self._now(), permit, outcome, False, self.redis_limits)
        if transition:
            self.on_redis_transition(transition)

    def _run(self, shared_call: Callable[[], T], local_call: Callable[[], T]) -> T:
        permit = self._health_permit()
        if not permit.allowed:
            return local_call()
        try:
            result = shared_call()
        except redis.RedisError:
            self._health_settle(permit, Outcome.FAILURE)
            return local_call()
        self._health_settle(permit, Outcome.SUCCESS)
        return result

    async def _arun(self, shared_call: Callable[[], Awaitable[T]], local_call: Callable[[], T]) -> T:
        permit = self._health_permit()
        if not permit.allowed:
            return local_call()
        try:
            result = await shared_call()
        except (redis.RedisError, OSError):
            self._health_settle(permit, Outcome.FAILURE)
            return local_call()
        self._health_settle(permit, Outcome.SUCCESS)
        return result

    # The `redis` breaker guards Redis itself, so its record is always this process's own.

    def acquire(self, name: str, now: int, limits: Limits) -> Permit:
        if name == REDIS_BREAKER:
            return self.local.acquire(name, now, limits)
        return self._run(lambda: self.shared.acquire(name, now, limits), lambda: self.local.acquire(name, now, limits))

    async def aacquire(self, name: str, now: int, limits: Limits) -> Permit:
        if name == REDIS_BREAKER:
            return self.local.acquire(name, now, limits)
        return await self._arun(lambda: self.shared.aacquire(name, now, limits),
                                lambda: self.local.acquire(name, now, limits))

    def settle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
               limits: Limits) -> Transition | None:
        local = lambda: self.local.settle(name, now, permit, outcome, fallback_served, limits)  # noqa: E731
        if name == REDIS_BREAKER:
            return local()
        return self._run(lambda: self.shared.settle(name, now, permit, outcome, fallback_served, limits), local)

    async def asettle(self, name: str, now: int, permit: Permit, outcome: Outcome, fallback_served: bool,
                      limits: Limits) -> Transition | None:
        local = lambda: self.local.settle(name, now, permit, outcome, fallback_served, limits)  # noqa: E731
        if name == REDIS_BREAKER:
            return local()
        return await self._arun(lambda: self.shared.asettle(name, now, permit, outcome, fallback_served, limits),
                                local)

    def force(self, name: str, now: int, to: State, reason: str) -> Transition:
        if name == REDIS_BREAKER:
            return self.local.force(name, now, to, reason)
        return self._run(lambda: self.shared.force(name, now, to, reason), lambda: self.local.force(name, now, to, reason))

    def snapshots(self, names: Iterable[str]) -> list[Snapshot]:
        names = list(names)
        local = {snapshot.name: snapshot for snapshot in self.local.snapshots([REDIS_BREAKER])}
        shared_names = [name for name in names if name != REDIS_BREAKER]
        shared = {s.name: s for s in self._run(lambda: self.shared.snapshots(shared_names),
                                               lambda: self.local.snapshots(shared_names))}
        return [local[name] if name == REDIS_BREAKER else shared[name] for name in names]

    def known_names(self) -> set[str]:
        return self._run(self.shared.known_names, self.local.known_names) | {REDIS_BREAKER}
