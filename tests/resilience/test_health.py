"""Health checks: each dependency checked for real, a failure reported (never raised), the AI
providers judged by their breakers, and the checks declared as data (`DEGRADATION_HEALTH_CHECKS`)."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection

from chat import chain
from presskit.embedded_redis import free_local_port
from resilience import breakers
from resilience.breakers import CircuitBreaker
from resilience.health import (
    ComponentHealth, ai_provider_health, broker_health, database_health, health_check, redis_health,
)
from resilience.machine import State
from tests.resilience.conftest import FakeClock

DEFAULT_CHECKS = {
    "database": "resilience.health.database_health",
    "redis": "resilience.health.redis_health",
    "broker": "resilience.health.broker_health",
    "ai": "resilience.health.ai_provider_health",
}


@pytest.fixture(autouse=True)
def own_prefix(settings):
    settings.RESILIENCE_KEY_PREFIX = f"test-health-{uuid.uuid4().hex[:12]}"


def closed_redis_url() -> str:
    return f"redis://127.0.0.1:{free_local_port()}/0"


def break_database(monkeypatch, tmp_path) -> None:
    """Make every new connection to the default database fail for real (the test's own
    connection, already open, is left alone). Undone by monkeypatch."""
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"].endswith("sqlite3"):
        monkeypatch.setitem(settings_dict, "NAME", str(tmp_path / "no-such-folder" / "db.sqlite3"))
    elif settings_dict["ENGINE"].endswith("postgresql"):
        options = {key: value for key, value in settings_dict["OPTIONS"].items() if key != "pool"}
        monkeypatch.setitem(settings_dict, "OPTIONS", {**options, "connect_timeout": 1})
        monkeypatch.setitem(settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(settings_dict, "PORT", str(free_local_port()))
    else:
        pytest.skip(f"no way to break {settings_dict['ENGINE']} here")


# Checks a test may name in DEGRADATION_HEALTH_CHECKS / DEGRADATION_AI_PROVIDERS -----------------
def openai_and_anthropic() -> list[str]:
    return ["openai", "anthropic"]


def explodes() -> ComponentHealth:
    raise RuntimeError("a check with a bug")


HANG = threading.Event()


def hangs() -> ComponentHealth:
    HANG.wait(10)
    return ComponentHealth("slow", True, "late")


def two_components() -> list[ComponentHealth]:
    return [ComponentHealth("queue:high", True, "ok"), ComponentHealth("queue:low", False, "backlog")]


# The database -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_database_check_runs_select_1():
    assert database_health() == ComponentHealth("database", True, "SELECT 1 ok")


@pytest.mark.django_db
def test_a_database_that_cannot_be_reached_is_reported_down(monkeypatch, tmp_path):
    break_database(monkeypatch, tmp_path)
    components = {component.name: component for component in health_check()}
    assert components["database"].ok is False
    assert components["database"].detail == "OperationalError"
    assert components["redis"].ok  # the others are unaffected


@pytest.mark.django_db
def test_the_database_check_does_not_close_the_callers_connection():
    connection.ensure_connection()
    database_health()
    assert connection.connection is not None


# Redis and the broker ----------------------------------------------------------------------------
def test_redis_and_the_broker_answer_ping():
    assert redis_health() == ComponentHealth("redis", True, "PING ok")
    assert broker_health() == ComponentHealth("broker", True, "PING ok")


def test_an_unreachable_redis_or_broker_is_reported_with_the_error_type_only(settings):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = closed_redis_url()
    started = time.monotonic()
    assert redis_health() == ComponentHealth("redis", False, "ConnectionError")
    assert broker_health() == ComponentHealth("broker", False, "ConnectionError")
    assert time.monotonic() - started < 2.5  # 1 s timeouts at most


def test_a_broker_that_is_not_redis_is_checked_through_kombu(settings):
    settings.CELERY_BROKER_URL = "memory://"
    assert broker_health() == ComponentHealth("broker", True, "connected")


# AI providers --------------------------------------------------------------------------------------
def test_each_configured_ai_provider_is_a_component_judged_by_its_breaker(settings):
    settings.DEGRADATION_AI_PROVIDERS = "tests.resilience.test_health.openai_and_anthropic"
    breakers.get_breaker("openai").force_open()
    assert ai_provider_health() == [
        ComponentHealth("ai:openai", False, "forced_open"),
        ComponentHealth("ai:anthropic", True, "closed"),
    ]


def test_an_ai_provider_probing_in_half_open_is_available(settings):
    settings.DEGRADATION_AI_PROVIDERS = "tests.resilience.test_health.openai_and_anthropic"
    project = breakers.get_breaker("anthropic")
    clock = FakeClock()
    breaker = CircuitBreaker(project.config, project.store, clock=clock, listeners=[])  # the same shared record
    for _ in range(project.config.volume_threshold):
        breaker.call_sync(explodes, fallback=lambda error: None)
    assert ai_provider_health()[1] == ComponentHealth("ai:anthropic", False, "open")
    clock.advance(project.config.recovery_timeout)
    with breaker.attempt_sync():  # the probe is out
        assert ai_provider_health()[1] == ComponentHealth("ai:anthropic", True, "half_open")


def test_no_ai_provider_configured_means_no_ai_component(settings):
    settings.DEGRADATION_AI_PROVIDERS = "chat.chain.configured_ai_providers"
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = settings.LOCAL_LLM_BASE_URL = ""
    assert ai_provider_health() == []
    settings.DEGRADATION_AI_PROVIDERS = ""
    assert ai_provider_health() == []


@pytest.mark.parametrize("openai_key", ["", "sk-test"])
@pytest.mark.parametrize("anthropic_key", ["", "sk-ant-test"])
@pytest.mark.parametrize("local_url", ["", "http://127.0.0.1:11434/v1"])
def test_configured_ai_providers_are_those_the_chain_would_build(settings, openai_key, anthropic_key, local_url):
    settings.OPENAI_API_KEY, settings.ANTHROPIC_API_KEY, settings.LOCAL_LLM_BASE_URL = openai_key, anthropic_key, local_url
    settings.AI_PROVIDER_CHAIN = ["anthropic", "local", "openai", "template"]
    built = [name for name in settings.AI_PROVIDER_CHAIN
             if name in chain.AI_PROVIDERS and chain.text_stream_for(name) is not None]
    assert chain.configured_ai_providers() == built


# Declared checks -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_default_checks_cover_every_dependency(settings):
    settings.DEGRADATION_AI_PROVIDERS = "tests.resilience.test_health.openai_and_anthropic"
    assert settings.DEGRADATION_HEALTH_CHECKS == DEFAULT_CHECKS
    components = health_check()
    assert [component.name for component in components] == ["database", "redis", "broker", "ai:openai", "ai:anthropic"]
    assert all(component.ok for component in components)


def test_a_check_that_raises_or_hangs_or_is_missing_is_a_failed_component(settings):
    settings.DEGRADATION_CHECK_TIMEOUT = 0.3
    settings.DEGRADATION_HEALTH_CHECKS = {
        "buggy": "tests.resilience.test_health.explodes",
        "slow": "tests.resilience.test_health.hangs",
        "typo": "tests.resilience.test_health.no_such_check",
        "queues": "tests.resilience.test_health.two_components",
    }
    HANG.clear()
    try:
        started = time.monotonic()
        components = health_check()
        assert time.monotonic() - started < 1.5
    finally:
        HANG.set()
    assert components == [
        ComponentHealth("buggy", False, "RuntimeError"),
        ComponentHealth("slow", False, "timeout"),
        ComponentHealth("typo", False, "ImportError"),
        ComponentHealth("queue:high", True, "ok"),
        ComponentHealth("queue:low", False, "backlog"),
    ]


def test_broken_ai_provider_setting_is_reported_not_raised(settings):
    settings.DEGRADATION_HEALTH_CHECKS = {"ai": "resilience.health.ai_provider_health"}
    settings.DEGRADATION_AI_PROVIDERS = "chat.chain.no_such_function"
    assert health_check() == [ComponentHealth("ai", False, "ImportError")]


def test_ai_components_read_the_shared_breaker_state(settings):
    """The AI components read the same shared state every process sees."""
    settings.DEGRADATION_AI_PROVIDERS = "tests.resilience.test_health.openai_and_anthropic"
    breakers.get_breaker("anthropic").force_open()
    breakers.reset_registry()  # another process: a fresh registry on the same Redis
    assert breakers.get_breaker("anthropic").state is State.FORCED_OPEN
    assert ai_provider_health()[1].ok is False
