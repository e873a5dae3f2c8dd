"""Property-based: random calls, outcomes, clock jumps and staff actions, driven against the
real breaker (on each store) and a small reference model written from the specification;
they must agree on every decision and every state."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from resilience.breakers import CircuitBreaker, CircuitOpenError
from resilience.config import BreakerConfig
from resilience.machine import State
from resilience.store import LocalBreakerStore
from tests.resilience.conftest import FakeClock, redis_store

THRESHOLD, VOLUME, WINDOW_MS, RECOVERY_MS = 3, 4, 10_000, 5_000


class Failure(Exception):
    pass


class ClientError(Exception):
    status_code = 400


@dataclass
class ModelCall:
    generation: int
    probe: bool


class ReferenceBreaker:
    """The specification, plainly: counts in a tumbling window, one probe at a time."""

    def __init__(self, lease_ms: int) -> None:
        self.lease_ms = lease_ms
        self.state = State.CLOSED
        self.generation = 0
        self.opened_at = 0
        self.probe_free_at = 0
        self.window = (0, 0, 0)  # start, calls, failures

    def _go(self, state: State, now: int) -> None:
        self.state = state
        self.generation += 1
        self.window = (now, 0, 0)
        self.probe_free_at = 0
        if state is State.OPEN:
            self.opened_at = now

    def admit(self, now: int) -> ModelCall | None:
        if self.state in (State.CLOSED, State.FORCED_CLOSED):
            return ModelCall(self.generation, False)
        if self.state is State.OPEN and now - self.opened_at >= RECOVERY_MS:
            self._go(State.HALF_OPEN, now)
        if self.state is State.HALF_OPEN and now >= self.probe_free_at:
            self.probe_free_at = now + self.lease_ms
            return ModelCall(self.generation, True)
        return None

    def finish(self, call: ModelCall, outcome: str, now: int) -> None:
        if call.generation != self.generation:
            return
        if self.state is State.HALF_OPEN and call.probe:
            if outcome == "ignored":
                self.probe_free_at = 0
            else:
                self._go(State.CLOSED if outcome == "success" else State.OPEN, now)
        elif self.state is State.CLOSED and outcome != "ignored":
            start, calls, failures = self.window
            if now >= start + WINDOW_MS:
                start, calls, failures = now, 0, 0
            calls, failures = calls + 1, failures + (outcome == "failure")
            if calls >= VOLUME and failures >= THRESHOLD:
                self._go(State.OPEN, now)
            else:
                self.window = (start, calls, failures)


class BreakerAgreesWithModel(RuleBasedStateMachine):
    make_store = staticmethod(LocalBreakerStore)
    calls = Bundle("calls")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        config = BreakerConfig(name="model", failure_threshold=THRESHOLD, volume_threshold=VOLUME,
                               window=WINDOW_MS / 1000, recovery_timeout=RECOVERY_MS / 1000, call_timeout=1000)
        self.breaker = CircuitBreaker(config, self.make_store(), clock=self.clock, listeners=[])
        self.model = ReferenceBreaker(lease_ms=int(config.probe_lease * 1000))

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @rule(target=calls)
    def start_call(self):
        expected = self.model.admit(self.now_ms())
        attempt = self.breaker.attempt_sync()
        try:
            attempt.__enter__()
        except CircuitOpenError:
            assert expected is None, "the breaker refused a call the model admits"
            return None
        assert expected is not None, "the breaker admitted a call the model refuses"
        assert attempt.permit.probe == expected.probe
        return attempt, expected

    @rule(call=consumes(calls), outcome=st.sampled_from(["success", "failure", "ignored"]))
    def finish_call(self, call, outcome):
        if call is None:
            return
        attempt, expected = call
        error = {"success": None, "failure": Failure(), "ignored": ClientError()}[outcome]
        attempt.__exit__(type(error) if error else None, error, None)
        self.model.finish(expected, outcome, self.now_ms())

    @rule(milliseconds=st.integers(min_value=0, max_value=12_000))
    def advance_clock(self, milliseconds):
        self.clock.advance(milliseconds / 1000)

    @rule(action=st.sampled_from(["reset", "force_open", "force_closed"]))
    def staff_action(self, action):
        getattr(self.breaker, action)()
        target = {"reset": State.CLOSED, "force_open": State.FORCED_OPEN, "force_closed": State.FORCED_CLOSED}
        self.model._go(target[action], self.now_ms())

    @invariant()
    def states_agree(self):
        assert self.breaker.state is self.model.state


class RedisBreakerAgreesWithModel(BreakerAgreesWithModel):
    make_store = staticmethod(redis_store)


TestLocalStoreAgreesWithModel = BreakerAgreesWithModel.TestCase
TestLocalStoreAgreesWithModel.settings = hypothesis_settings(max_examples=300, stateful_step_count=50,
                                                            deadline=None)
TestRedisStoreAgreesWithModel = RedisBreakerAgreesWithModel.TestCase
TestRedisStoreAgreesWithModel.settings = hypothesis_settings(max_examples=150, stateful_step_count=50,
                                                            deadline=None)
