"""The breaker's state machine, case by case, on the in-process store and on real Redis."""
from __future__ import annotations

import asyncio

import pytest

from resilience.breakers import CallTimeout, CircuitBreaker, CircuitOpenError
from resilience.machine import State

pytestmark = pytest.mark.asyncio


class Boom(Exception):
    pass


class ClientError(Exception):
    """Looks like an SDK's APIStatusError for a request a retry cannot fix."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


async def ok() -> str:
    return "ok"


async def boom() -> str:
    raise Boom("dependency down")


async def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Boom):
            await breaker.call(boom)


async def succeed(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert await breaker.call(ok) == "ok"


async def open_it(breaker: CircuitBreaker) -> None:
    await succeed(breaker, 2)
    await fail(breaker, 3)
    assert breaker.state is State.OPEN


async def test_closed_lets_calls_through_and_counts_them(breaker):
    await succeed(breaker, 3)
    await fail(breaker, 1)
    snapshot = breaker.snapshot()
    assert snapshot.state is State.CLOSED
    assert (snapshot.calls, snapshot.successes, snapshot.failures) == (4, 3, 1)


async def test_it_does_not_open_below_the_volume_threshold(breaker):
    await fail(breaker, 4)  # 4 failures >= 3, but only 4 calls < 5
    assert breaker.state is State.CLOSED
    await fail(breaker, 1)
    assert breaker.state is State.OPEN


async def test_the_window_restarts_the_counts(breaker, clock):
    await fail(breaker, 4)
    clock.advance(61)
    await fail(breaker, 1)  # a new window: 1 failure in 1 call
    assert breaker.state is State.CLOSED
    await succeed(breaker, 2)
    await fail(breaker, 1)
    assert breaker.state is State.CLOSED  # 2 failures in 4 calls


async def test_open_refuses_without_calling_and_serves_the_fallback(breaker, listener):
    await open_it(breaker)
    called = []

    async def dependency():
        called.append(True)
        return "live"

    with pytest.raises(CircuitOpenError) as refused:
        await breaker.call(dependency)
    assert refused.value.state is State.OPEN
    assert await breaker.call(dependency, fallback=lambda error: "fallback") == "fallback"
    assert called == []
    assert breaker.snapshot().fallbacks == 2
    assert listener.kinds().count("fallback") == 2


async def test_half_open_after_the_recovery_timeout_admits_one_probe(breaker, clock, listener):
    await open_it(breaker)
    clock.advance(29.9)
    with pytest.raises(CircuitOpenError):
        await breaker.call(ok)
    clock.advance(0.2)

    release = asyncio.Event()

    async def slow_probe():
        await release.wait()
        return "probed"

    probe = asyncio.create_task(breaker.call(slow_probe))
    await asyncio.sleep(0.01)
    assert breaker.state is State.HALF_OPEN
    for _ in range(3):  # everyone else gets the fallback at once
        assert await breaker.call(ok, fallback=lambda error: type(error).__name__) == "CircuitOpenError"
    release.set()
    assert await probe == "probed"
    assert breaker.state is State.CLOSED
    assert listener.transitions() == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


async def test_a_failed_probe_reopens_for_another_recovery_timeout(breaker, clock):
    await open_it(breaker)
    clock.advance(31)
    await fail(breaker, 1)
    assert breaker.state is State.OPEN
    clock.advance(29)
    with pytest.raises(CircuitOpenError):
        await breaker.call(ok)
    clock.advance(2)
    await succeed(breaker, 1)
    assert breaker.state is State.CLOSED


async def test_a_closed_breaker_starts_counting_afresh(breaker, clock):
    await open_it(breaker)
    clock.advance(31)
    await succeed(breaker, 1)
    await fail(breaker, 3)  # 3 failures but only 3 calls in the new window
    assert breaker.state is State.CLOSED


async def test_a_probe_that_hangs_past_its_lease_lets_another_caller_probe(breaker, clock, config):
    await open_it(breaker)
    clock.advance(31)
    abandoned = breaker.attempt()
    await abandoned.__aenter__()  # a probe whose process died: never settles
    with pytest.raises(CircuitOpenError):
        await breaker.call(ok)
    clock.advance(config.probe_lease + 0.1)
    await succeed(breaker, 1)
    assert breaker.state is State.CLOSED


async def test_a_late_result_from_before_a_transition_decides_nothing(breaker, clock):
    release = asyncio.Event()

    async def late_failure():
        await release.wait()
        raise Boom("late")

    late = asyncio.create_task(breaker.call(late_failure))
    await asyncio.sleep(0.01)
    await open_it(breaker)
    clock.advance(31)
    await succeed(breaker, 1)  # the probe closes the breaker
    release.set()
    with pytest.raises(Boom):
        await late
    assert breaker.state is State.CLOSED
    assert breaker.snapshot().failures == 4  # counted all the same


@pytest.mark.parametrize("status_code", [400, 401, 403, 404])
async def test_errors_a_retry_cannot_fix_do_not_count(breaker, listener, status_code):
    async def bad_request():
        raise ClientError(status_code)

    for _ in range(10):
        with pytest.raises(ClientError):
            await breaker.call(bad_request, fallback=lambda error: "unused")
    snapshot = breaker.snapshot()
    assert snapshot.state is State.CLOSED
    assert (snapshot.failures, snapshot.ignored, snapshot.fallbacks) == (0, 10, 0)
    assert listener.kinds().count("ignored") == 10


async def test_server_errors_do_count(breaker):
    async def server_error():
        raise ClientError(503)

    await succeed(breaker, 2)
    for _ in range(3):
        with pytest.raises(ClientError):
            await breaker.call(server_error)
    assert breaker.state is State.OPEN


async def test_an_ignored_probe_gives_the_turn_to_the_next_caller(breaker, clock):
    await open_it(breaker)
    clock.advance(31)

    async def bad_request():
        raise ClientError(400)

    with pytest.raises(ClientError):
        await breaker.call(bad_request)
    assert breaker.state is State.HALF_OPEN
    await succeed(breaker, 1)
    assert breaker.state is State.CLOSED


async def test_a_timeout_is_a_failure(breaker, listener):
    async def hang():
        await asyncio.sleep(5)

    await succeed(breaker, 2)
    for _ in range(3):
        with pytest.raises(CallTimeout):
            await breaker.call(hang)
    snapshot = breaker.snapshot()
    assert snapshot.state is State.OPEN
    assert (snapshot.failures, snapshot.timeouts) == (3, 3)
    assert ("failure", "dep", "timeout", "CallTimeout") in listener.events


async def test_the_fallback_gets_the_error_after_a_failure(breaker):
    result = await breaker.call(boom, fallback=lambda error: f"fallback after {type(error).__name__}")
    assert result == "fallback after Boom"
    assert breaker.snapshot().fallbacks == 1


async def test_an_async_fallback_is_awaited(breaker):
    async def fallback(error):
        return "async fallback"

    assert await breaker.call(boom, fallback=fallback) == "async fallback"


async def test_forced_open_refuses_and_forced_closed_admits_whatever_happens(breaker, clock):
    breaker.force_open()
    clock.advance(3600)
    with pytest.raises(CircuitOpenError) as refused:
        await breaker.call(ok)
    assert refused.value.state is State.FORCED_OPEN
    breaker.force_closed()
    await fail(breaker, 20)
    assert breaker.state is State.FORCED_CLOSED
    breaker.reset()
    assert breaker.state is State.CLOSED
    await fail(breaker, 4)
    assert breaker.state is State.CLOSED  # reset cleared the window


async def test_the_attempt_context_guards_a_stream(breaker):
    async def tokens():
        for token in ("a", "b"):
            yield token

    async with breaker.attempt():
        assert [token async for token in tokens()] == ["a", "b"]
    with pytest.raises(Boom):
        async with breaker.attempt():
            raise Boom("stream broke")
    snapshot = breaker.snapshot()
    assert (snapshot.successes, snapshot.failures) == (1, 1)


async def test_a_cancelled_call_is_not_counted(breaker):
    task = asyncio.create_task(breaker.call(asyncio.sleep, 5))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    snapshot = breaker.snapshot()
    assert (snapshot.failures, snapshot.ignored) == (0, 1)


async def test_the_sync_api_for_celery_tasks(breaker, clock):
    def upload() -> str:
        return "stored"

    def broken() -> str:
        raise Boom("storage down")

    assert breaker.call_sync(upload) == "stored"
    breaker.call_sync(upload)
    for _ in range(3):
        assert breaker.call_sync(broken, fallback=lambda error: "queued") == "queued"
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError):
        breaker.call_sync(upload)
    clock.advance(31)
    assert breaker.call_sync(upload) == "stored"
    assert breaker.state is State.CLOSED


async def test_a_slow_sync_call_counts_as_a_timeout(breaker):
    import time

    breaker.call_sync(time.sleep, 0.25)  # over the 0.2 s call timeout
    assert breaker.snapshot().timeouts == 1


async def test_state_persists_for_a_new_breaker_object_on_the_same_store(breaker, config, store, clock):
    await open_it(breaker)
    again = CircuitBreaker(config, store, clock=clock)
    assert again.state is State.OPEN
    with pytest.raises(CircuitOpenError):
        await again.call(ok)


async def test_a_consumer_that_stops_reading_is_not_a_failure(breaker):
    async def tokens():
        async with breaker.attempt():
            for token in ("a", "b", "c"):
                yield token

    for _ in range(5):
        stream = tokens()
        assert await anext(stream) == "a"
        await stream.aclose()  # GeneratorExit inside the attempt
    snapshot = breaker.snapshot()
    assert (snapshot.failures, snapshot.ignored, snapshot.state) == (0, 5, State.CLOSED)


async def test_a_not_found_from_an_http_client_does_not_count(breaker):
    class Response:
        status_code = 404

    class HTTPError(Exception):
        response = Response()

    async def missing():
        raise HTTPError("not found")

    for _ in range(6):
        with pytest.raises(HTTPError):
            await breaker.call(missing)
    assert breaker.snapshot().failures == 0
