"""Breaker configuration: DESIGN.md's defaults, overrides from the environment, typos caught."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from resilience.breakers import CircuitBreaker, get_breaker
from resilience.config import BreakerConfig, build_configs, parse_overrides
from resilience.store import LocalBreakerStore
from tests.servers import REPO


@pytest.mark.parametrize(
    ("name", "failures", "volume", "recovery"),
    [("openai", 5, 10, 60), ("anthropic", 5, 10, 60), ("local", 5, 10, 60),
     ("database", 3, 3, 30), ("redis", 5, 5, 20), ("storage", 5, 5, 30)],
)
def test_design_defaults(name, failures, volume, recovery):
    config = get_breaker(name).config
    assert (config.failure_threshold, config.volume_threshold, config.recovery_timeout) == (failures, volume, recovery)


def test_ai_breakers_time_out_with_the_ai_total_timeout(settings):
    assert get_breaker("openai").config.call_timeout == settings.AI_TOTAL_TIMEOUT == 10


def test_each_integration_gets_its_own_breaker_from_the_template():
    webhook, mailing = get_breaker("integration:booking-webhook"), get_breaker("integration:mailing-list")
    assert webhook.name != mailing.name
    assert webhook.config.failure_threshold == get_breaker("integration:x").config.failure_threshold


def test_overrides_from_settings_apply(settings):
    settings.BREAKER_OVERRIDES = '{"openai": {"recovery_timeout": 5}, "integration:crm": {"call_timeout": 2}}'
    assert get_breaker("openai").config.recovery_timeout == 5
    assert get_breaker("openai").config.failure_threshold == 5
    assert get_breaker("integration:crm").config.call_timeout == 2


@pytest.mark.parametrize("raw", ['{"openai": {"recovery": 5}}', '["openai"]', '{"openai": 5}'])
def test_malformed_overrides_are_errors(raw):
    with pytest.raises(ValueError):
        parse_overrides(raw)


def test_an_override_for_an_unknown_breaker_is_an_error():
    with pytest.raises(ValueError, match="unknown breaker"):
        build_configs({"openai": {}}, {"opneai": {"window": 5}})


def test_inconsistent_thresholds_are_errors():
    with pytest.raises(ValueError):
        BreakerConfig(name="x", failure_threshold=5, volume_threshold=3)


def test_breaker_overrides_come_from_the_environment(tmp_path):
    code = "from resilience.breakers import get_breaker; print(get_breaker('openai').config.recovery_timeout)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "BREAKER_OVERRIDES": '{"openai": {"recovery_timeout": 7}}'},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "7"


def test_events_are_logged_without_the_error_message(caplog):
    breaker = CircuitBreaker(BreakerConfig(name="dep", failure_threshold=1, volume_threshold=1), LocalBreakerStore())

    def leaks():
        raise RuntimeError("artist said: my secret bio")

    with caplog.at_level(logging.INFO, logger="resilience.breakers"):
        breaker.call_sync(leaks, fallback=lambda error: None)
    text = caplog.text
    assert "breaker dep: failure (RuntimeError)" in text
    assert "closed -> open (1 failures in 1 calls)" in text
    assert "secret" not in text
