"""The breaker's state machine, as pure functions over one breaker's record.

The record is a flat dict of the same fields the Redis store keeps in a hash, so the Lua
scripts in `store.py` and these functions are two spellings of one machine; the tests run the
same cases (and a property-based comparison with a reference model) against both.

Times are integer milliseconds. A result carries the *generation* of the permit it was given
under: every transition bumps the generation, so a late result from before a transition (a
call admitted while CLOSED that fails after the breaker opened) updates the counts but never
moves the state.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"
    FORCED_OPEN = "forced_open"
    FORCED_CLOSED = "forced_closed"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"  # a failure, counted apart as well
    IGNORED = "ignored"  # an error a retry cannot fix, or a cancelled call: not counted


@dataclass(frozen=True)
class Limits:
    """A breaker's configuration as the machine uses it (milliseconds)."""

    failure_threshold: int
    volume_threshold: int
    window_ms: int
    recovery_ms: int
    lease_ms: int


@dataclass(frozen=True)
class Transition:
    from_state: State
    to_state: State
    reason: str


@dataclass(frozen=True)
class Permit:
    allowed: bool
    probe: bool
    generation: int
    state: State
    transition: Transition | None = None
    shared: bool = False  # issued by the shared (Redis) store: settle it there, or not at all


@dataclass(frozen=True)
class Snapshot:
    name: str
    state: State
    generation: int
    calls: int
    successes: int
    failures: int
    timeouts: int
    ignored: int
    fallbacks: int
    state_changes: int
    changed_at_ms: int
    reason: str
    shared: bool = False  # read from Redis; False: this process's own view


def _int(record: dict[str, Any], field: str) -> int:
    return int(record.get(field) or 0)


def _move(record: dict[str, Any], to: State, now: int, reason: str) -> Transition:
    from_state = State(record.get("state") or State.CLOSED)
    record.update(state=to, gen=_int(record, "gen") + 1, changed_at=now, reason=reason,
                  win_start=now, win_calls=0, win_fail=0, probe_until=0)
    record["changes"] = _int(record, "changes") + 1
    if to is State.OPEN:
        record["opened_at"] = now
    return Transition(from_state, to, reason)


def _bump(record: dict[str, Any], field: str) -> None:
    record[field] = _int(record, field) + 1


def acquire(record: dict[str, Any], now: int, limits: Limits) -> Permit:
    """May a call go ahead? Exactly one caller at a time gets the HALF_OPEN probe."""
    state = State(record.get("state") or State.CLOSED)
    gen = _int(record, "gen")
    if state in (State.CLOSED, State.FORCED_CLOSED):
        _bump(record, "calls")
        return Permit(True, False, gen, state)
    if state is State.OPEN and now >= _int(record, "opened_at") + limits.recovery_ms:
        transition = _move(record, State.HALF_OPEN, now, "recovery timeout elapsed")
        record["probe_until"] = now + limits.lease_ms
        _bump(record, "calls")
        return Permit(True, True, gen + 1, State.HALF_OPEN, transition)
    if state is State.HALF_OPEN and now >= _int(record, "probe_until"):
        record["probe_until"] = now + limits.lease_ms
        _bump(record, "calls")
        return Permit(True, True, gen, state)
    _bump(record, "fallbacks")
    return Permit(False, False, gen, state)


def settle(record: dict[str, Any], now: int, generation: int, probe: bool, outcome: Outcome,
           fallback_served: bool, limits: Limits) -> Transition | None:
    """Record a call's outcome; open, close or re-open the breaker when it decides so."""
    _bump(record, {Outcome.SUCCESS: "successes", Outcome.IGNORED: "ignored"}.get(outcome, "failures"))
    if outcome is Outcome.TIMEOUT:
        _bump(record, "timeouts")
    if fallback_served:
        _bump(record, "fallbacks")
    state = State(record.get("state") or State.CLOSED)
    if generation != _int(record, "gen"):
        return None  # from before the last transition: counted, but it decides nothing
    failed = outcome in (Outcome.FAILURE, Outcome.TIMEOUT)
    if state is State.HALF_OPEN and probe:
        if outcome is Outcome.SUCCESS:
            return _move(record, State.CLOSED, now, "probe succeeded")
        if failed:
            return _move(record, State.OPEN, now, f"probe failed ({outcome})")
        record["probe_until"] = 0  # ignored: give the probe turn to the next caller
        return None
    if state is not State.CLOSED or outcome is Outcome.IGNORED:
        return None
    if now >= _int(record, "win_start") + limits.window_ms:
        record.update(win_start=now, win_calls=0, win_fail=0)
    _bump(record, "win_calls")
    if failed:
        _bump(record, "win_fail")
    calls, failures = _int(record, "win_calls"), _int(record, "win_fail")
    if calls >= limits.volume_threshold and failures >= limits.failure_threshold:
        return _move(record, State.OPEN, now, f"{failures} failures in {calls} calls")
    return None


def force(record: dict[str, Any], now: int, to: State, reason: str) -> Transition:
    """Staff's hand: FORCED_OPEN, FORCED_CLOSED, or CLOSED with clean counts (a reset)."""
    return _move(record, to, now, reason)


def snapshot(name: str, record: dict[str, Any]) -> Snapshot:
    return Snapshot(
        name=name,
        state=State(record.get("state") or State.CLOSED),
        generation=_int(record, "gen"),
        calls=_int(record, "calls"),
        successes=_int(record, "successes"),
        failures=_int(record, "failures"),
        timeouts=_int(record, "timeouts"),
        ignored=_int(record, "ignored"),
        fallbacks=_int(record, "fallbacks"),
        state_changes=_int(record, "changes"),
        changed_at_ms=_int(record, "changed_at"),
        reason=str(record.get("reason") or ""),
    )
