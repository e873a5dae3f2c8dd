"""The periodic evaluation asks an AI provider whose breaker waits for its probe one short
question (the real SDK against the fake LLM server), so a recovered provider is used again."""
from __future__ import annotations

import time

import pytest

from resilience.breakers import get_breaker
from resilience.degradation import degradation_evaluate, reset_manager
from resilience.machine import State


@pytest.mark.django_db(transaction=True)
def test_the_evaluation_probes_an_ai_provider_that_waits_for_its_probe(fake_llm, settings):
    reset_manager()
    settings.BREAKER_OVERRIDES = '{"anthropic": {"failure_threshold": 1, "volume_threshold": 1, "recovery_timeout": 0.05}}'

    def down():
        raise ConnectionError("anthropic down")

    get_breaker("anthropic").call_sync(down, fallback=lambda error: None)
    assert get_breaker("anthropic").state is State.OPEN
    time.sleep(0.1)  # past its (shortened) recovery timeout
    degradation_evaluate()
    assert get_breaker("anthropic").state is State.CLOSED
    assert [r["target"] for r in fake_llm.requests()] == ["anthropic"]
