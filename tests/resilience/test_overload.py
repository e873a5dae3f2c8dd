"""The lag gauge's rules (any sequence of samples), and the sampler on a real event loop and a
real thread pool."""
import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resilience import overload
from resilience.overload import LagGauge
from tests.conftest import swamp

LIMIT = 0.1

samples = st.lists(st.floats(min_value=-1.0, max_value=2.0, allow_nan=False), max_size=60)


@given(samples)
def test_the_gauge_sheds_past_the_limit_stops_below_half_and_reports_each_change_once(sequence):
    gauge = LagGauge(limit=LIMIT)
    for sample in sequence:
        was = gauge.shedding
        change = gauge.observe(sample)
        assert gauge.lag >= 0
        if gauge.lag > LIMIT:
            assert gauge.shedding
        if gauge.lag < LIMIT / 2:
            assert not gauge.shedding
        if LIMIT / 2 <= gauge.lag <= LIMIT:
            assert gauge.shedding == was  # the band between: no flapping
        assert change == (gauge.shedding if gauge.shedding != was else None)


@given(samples)
def test_a_gauge_with_no_limit_never_sheds(sequence):
    gauge = LagGauge(limit=0)
    assert all(gauge.observe(sample) is None for sample in sequence)
    assert not gauge.shedding


def test_one_slow_sample_is_not_believed_a_lasting_lag_is():
    gauge = LagGauge(limit=LIMIT)
    gauge.observe(0.2)
    assert not gauge.shedding
    gauge.observe(0.2)
    assert gauge.shedding


@pytest.mark.asyncio
async def test_a_late_event_loop_sheds_and_recovers_with_one_warning_each_way(shedding_on, caplog):
    caplog.set_level(logging.WARNING, logger="resilience.overload")
    assert not overload.shedding("page")  # starts timing this loop
    await asyncio.sleep(0.1)
    assert not overload.shedding("page")
    await swamp(0.6)
    assert overload.shedding("page")
    await asyncio.sleep(0.5)  # the loop is on time again
    assert not overload.shedding("page")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("overloaded: event loop") and "limit 30 ms" in messages[0]
    assert messages[1].startswith("no longer overloaded")


async def shedding_within(seconds: float, expected: bool) -> None:
    async with asyncio.timeout(seconds):
        while overload.shedding("probe") is not expected:
            await asyncio.sleep(0.01)


@pytest.fixture
def busy_pool(monkeypatch):
    """A watched pool of one thread (watched for this test only), and the Event that frees it."""
    monkeypatch.setattr(overload, "_watched", {})
    pool, free = ThreadPoolExecutor(max_workers=1), threading.Event()
    overload.pool_watched("test pool work", pool)
    yield pool, free
    free.set()
    pool.shutdown()


@pytest.mark.asyncio
async def test_work_waiting_for_a_watched_pool_sheds_while_the_loop_is_on_time(shedding_on, busy_pool, caplog):
    caplog.set_level(logging.WARNING, logger="resilience.overload")
    pool, free = busy_pool
    await shedding_within(1, False)  # timing starts; the idle pool's probes start at once
    pool.submit(free.wait, 5)  # its one thread taken: the next probe waits
    await shedding_within(2, True)
    free.set()
    await shedding_within(2, False)
    # One warning each way about the pool (a busy test machine's loop may say something too).
    messages = [record.getMessage() for record in caplog.records if "test pool work" in record.getMessage()]
    assert len(messages) == 2, messages
    assert messages[0].startswith("overloaded: test pool work ") and "limit 30 ms" in messages[0]
    assert messages[1].startswith("no longer overloaded: test pool work ")


@pytest.mark.asyncio
async def test_shedding_turned_off_never_refuses(settings):
    settings.LOAD_SHED_LAG_MS = 0
    await swamp(0.4)
    assert not overload.shedding("socket")
