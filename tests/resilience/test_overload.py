"""The lag gauge's rules (any sequence of samples), and the sampler on a real event loop."""
import asyncio
import logging

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


@pytest.mark.asyncio
async def test_shedding_turned_off_never_refuses(settings):
    settings.LOAD_SHED_LAG_MS = 0
    await swamp(0.4)
    assert not overload.shedding("socket")
