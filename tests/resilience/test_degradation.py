"""The degradation manager: the rules, the hysteresis (with a clock moved by hand), forcing,
the state and history in Redis (and in memory while Redis is away), the broadcast, and the
wiring: /readyz, /metrics, the Celery task and beat entry, re-evaluation on breaker transitions."""
from __future__ import annotations

import asyncio
import logging
import time
import os
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings

from presskit import celery_app
from presskit.embedded_redis import free_local_port
from resilience import breakers, degradation
from resilience.degradation import (
    BROADCAST_GROUP, HISTORY_CAP, LEVEL_RULES, NO_AI_REASON, DegradationManager, DegradationState,
    DegradationStoreUnavailable, FailoverDegradationStore, Level, LevelChange, LocalDegradationStore,
    RedisDegradationStore, degradation_current,
    degradation_evaluate, degradation_force, degradation_history, degradation_release, level_compute,
    request_evaluation,
)
from resilience.health import ComponentHealth
from tests.resilience.test_health import break_database
from tests.servers import REPO

HOLD = 60


@pytest.fixture(autouse=True)
def own_prefix(settings) -> str:
    settings.RESILIENCE_KEY_PREFIX = f"test-degradation-{uuid.uuid4().hex[:12]}"
    return settings.RESILIENCE_KEY_PREFIX


class FakeHealth:
    """What the health checks report: every component up unless a test says otherwise."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.ai = ["openai", "anthropic"]
        self.open_breakers: set[str] = set()

    def set(self, *down: str, open_breakers: tuple[str, ...] = ()) -> None:
        self.down, self.open_breakers = set(down), set(open_breakers)

    def __call__(self) -> list[ComponentHealth]:
        names = ["database", "redis", "broker", *(f"ai:{name}" for name in self.ai)]
        return [ComponentHealth(name, name not in self.down, "down" if name in self.down else "ok") for name in names]


class Broadcasts(list):
    def __call__(self, change: LevelChange) -> None:
        self.append(change)


@pytest.fixture
def health() -> FakeHealth:
    return FakeHealth()


@pytest.fixture
def broadcasts() -> Broadcasts:
    return Broadcasts()


@pytest.fixture
def make_manager(own_prefix, clock, health, broadcasts) -> Callable[..., DegradationManager]:
    """A manager on this test's Redis prefix, with a fresh process memory each time."""

    def make(url: str = django_settings.REDIS_URL, hold: float = HOLD) -> DegradationManager:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        store = FailoverDegradationStore(RedisDegradationStore(client, prefix=own_prefix), LocalDegradationStore())
        return DegradationManager(store, hold=hold, health=health, open_breakers=lambda: health.open_breakers,
                                  broadcast=broadcasts, clock=clock)

    return make


@pytest.fixture
def manager(make_manager) -> DegradationManager:
    return make_manager()


def levels(changes: list[LevelChange]) -> list[tuple[Level, Level]]:
    return [(change.from_level, change.to_level) for change in changes]


# The rules ------------------------------------------------------------------------------------------
def components(*down: str, ai: tuple[str, ...] = ("openai", "anthropic")) -> list[ComponentHealth]:
    names = ["database", "redis", "broker", *(f"ai:{name}" for name in ai)]
    return [ComponentHealth(name, name not in down, "") for name in names]


@pytest.mark.parametrize(("down", "ai", "open_breakers", "level", "named"), [
    ((), ("openai", "anthropic"), (), Level.OPTIMAL, []),
    ((), (), (), Level.OPTIMAL, []),  # no AI configured: templates are the normal service
    (("database", "redis"), ("openai",), (), Level.EMERGENCY, ["database", "redis"]),
    (("database", "redis", "broker", "ai:openai"), ("openai",), (), Level.EMERGENCY, ["database", "redis"]),
    (("database",), ("openai",), (), Level.MINIMAL, ["database"]),
    ((), ("openai",), ("database",), Level.MINIMAL, ["database"]),  # the database breaker is open
    (("ai:openai", "ai:anthropic"), ("openai", "anthropic"), ("database",), Level.MINIMAL, ["database"]),
    (("ai:openai", "ai:anthropic"), ("openai", "anthropic"), (), Level.LIMITED, ["ai:openai", "ai:anthropic"]),
    (("ai:local",), ("local",), (), Level.LIMITED, ["ai:local"]),
    (("redis", "ai:openai"), ("openai",), (), Level.LIMITED, ["ai:openai"]),
    (("ai:anthropic",), ("openai", "anthropic"), (), Level.DEGRADED, ["ai:anthropic"]),
    (("redis",), ("openai",), (), Level.DEGRADED, ["redis"]),
    (("broker",), (), (), Level.DEGRADED, ["broker"]),
    ((), ("openai",), ("redis",), Level.DEGRADED, ["redis"]),  # this process's `redis` breaker is open
    ((), ("openai",), ("storage",), Level.OPTIMAL, []),  # no rule names storage
])
def test_the_rules_table(down, ai, open_breakers, level, named):
    computed, reason = level_compute(components(*down, ai=ai), open_breakers)
    assert computed is level
    for name in named:
        assert name in reason
    if level is Level.OPTIMAL:
        assert reason == ("all components healthy" if ai else NO_AI_REASON)


def test_with_no_ai_provider_configured_optimal_says_the_templates_answer():
    level, reason = level_compute(components(ai=()))
    assert level is Level.OPTIMAL
    assert reason.startswith("all components healthy; no AI provider is configured")
    assert "templates" in reason


def test_a_backup_that_is_down_is_named_as_what_runs_without():
    """OpenAI answers; Anthropic (its backup) is down: the reason names the one that failed."""
    _, reason = level_compute(components("ai:anthropic", ai=("openai", "anthropic")))
    assert reason == "running without: ai:anthropic"


def test_the_rules_are_data_and_the_first_match_wins():
    assert [rule.level for rule in LEVEL_RULES] == [Level.EMERGENCY, Level.MINIMAL, Level.LIMITED, Level.DEGRADED]
    assert Level.LIMITED.label == "limited" and [level.label for level in Level][0] == "optimal"


# Hysteresis -------------------------------------------------------------------------------------------
def test_a_worse_level_applies_at_once(manager, health, broadcasts):
    health.set("ai:openai")
    change = manager.evaluate()
    assert (change.from_level, change.to_level, change.forced) == (Level.OPTIMAL, Level.DEGRADED, False)
    assert "ai:openai" in change.reason
    health.set("database")
    assert manager.evaluate().to_level is Level.MINIMAL
    assert manager.current().level is Level.MINIMAL
    assert levels(broadcasts) == [(Level.OPTIMAL, Level.DEGRADED), (Level.DEGRADED, Level.MINIMAL)]


def test_a_better_level_applies_only_after_the_hold(manager, health, clock):
    health.set("redis")
    manager.evaluate()
    health.set()
    assert manager.evaluate() is None
    clock.advance(HOLD - 1)
    assert manager.evaluate() is None
    assert manager.current().level is Level.DEGRADED
    clock.advance(1)
    change = manager.evaluate()
    assert (change.from_level, change.to_level) == (Level.DEGRADED, Level.OPTIMAL)
    assert manager.current() == DegradationState(Level.OPTIMAL, False, "all components healthy", change.at_ms)


def test_a_flapping_dependency_does_not_make_the_level_flap(manager, health, clock, broadcasts):
    health.set("broker")
    manager.evaluate()
    for _ in range(10):  # up 20 s, down 10 s, for five minutes
        health.set()
        manager.evaluate()
        clock.advance(20)
        manager.evaluate()
        health.set("broker")
        clock.advance(10)
        manager.evaluate()
    assert manager.current().level is Level.DEGRADED
    assert levels(broadcasts) == [(Level.OPTIMAL, Level.DEGRADED)]
    health.set()
    manager.evaluate()
    clock.advance(HOLD)
    assert manager.evaluate().to_level is Level.OPTIMAL


def test_recovery_goes_step_by_step_each_level_after_its_own_hold(manager, health, clock):
    health.set("database")
    manager.evaluate()
    health.set("ai:openai", "ai:anthropic")  # LIMITED seen from t0
    manager.evaluate()
    clock.advance(30)
    health.set()  # OPTIMAL seen from t0 + 30
    manager.evaluate()
    clock.advance(HOLD - 30)
    assert manager.evaluate().to_level is Level.LIMITED
    clock.advance(29)
    assert manager.evaluate() is None
    clock.advance(1)
    assert manager.evaluate().to_level is Level.OPTIMAL


def test_a_worse_observation_restarts_the_hold(manager, health, clock):
    health.set("database")
    manager.evaluate()
    health.set()
    manager.evaluate()
    clock.advance(HOLD - 5)
    health.set("database")
    manager.evaluate()
    health.set()
    clock.advance(5)
    assert manager.evaluate() is None  # the hold starts again now
    clock.advance(HOLD)
    assert manager.evaluate().to_level is Level.OPTIMAL


def test_the_hold_and_the_clock_come_from_settings(settings, monkeypatch, clock):
    settings.DEGRADATION_RECOVERY_HOLD = 5
    settings.DEGRADATION_HEALTH_CHECKS = {"switch": "tests.resilience.test_degradation.switched_component"}
    monkeypatch.setattr(degradation, "clock", clock)
    SWITCH.update(name="redis", ok=False)
    assert degradation_evaluate().to_level is Level.DEGRADED
    SWITCH["ok"] = True
    assert degradation_evaluate() is None
    clock.advance(5)
    assert degradation_evaluate().to_level is Level.OPTIMAL
    assert DegradationManager.from_settings().hold_ms == 5000


SWITCH = {"name": "redis", "ok": True}


def switched_component() -> ComponentHealth:
    return ComponentHealth(SWITCH["name"], SWITCH["ok"], "switched")


# Forcing ----------------------------------------------------------------------------------------------
def test_a_forced_level_wins_until_released(manager, health, clock, broadcasts):
    change = manager.force(level=Level.MINIMAL, reason="database maintenance")
    assert change == LevelChange(change.at_ms, Level.OPTIMAL, Level.MINIMAL, "database maintenance", True)
    health.set("ai:openai")
    assert manager.evaluate() is None  # computed DEGRADED, forced MINIMAL wins
    assert manager.current() == DegradationState(Level.MINIMAL, True, "database maintenance", change.at_ms)
    record = manager.store.shared.read()  # evaluation still records what it computed
    assert (record.candidate, record.computed) == (Level.DEGRADED, Level.DEGRADED)
    assert "ai:openai" in record.candidate_reason
    clock.advance(1)
    released = manager.release(reason="maintenance over")
    assert (released.from_level, released.to_level, released.forced) == (Level.MINIMAL, Level.DEGRADED, False)
    assert released.reason == "maintenance over"
    assert "ai:openai" in manager.current().reason
    assert manager.release(reason="again") is None  # nothing forced
    assert [change.forced for change in broadcasts] == [True, False]


def test_forcing_the_computed_level_is_still_a_change_and_forcing_twice_is_not(manager):
    assert manager.force(level=Level.OPTIMAL, reason="hold steady").forced is True
    assert manager.force(level=Level.OPTIMAL, reason="hold steady") is None
    assert manager.force(level=Level.EMERGENCY, reason="incident").to_level is Level.EMERGENCY


def test_released_level_has_had_its_hysteresis_while_forced(manager, health, clock):
    health.set("database")
    manager.evaluate()
    manager.force(level=Level.DEGRADED, reason="staff")
    health.set()
    manager.evaluate()
    clock.advance(HOLD)
    manager.evaluate()  # the computed level recovered meanwhile
    assert manager.release(reason="done").to_level is Level.OPTIMAL


# Persistence --------------------------------------------------------------------------------------------
def test_state_history_and_hold_survive_a_new_manager(make_manager, health, clock):
    first = make_manager()
    health.set("database")
    first.evaluate()
    first.force(level=Level.LIMITED, reason="staff")
    first.release(reason="done")
    health.set()
    first.evaluate()  # recovery seen: the hold starts

    second = make_manager()  # another process, or this one restarted
    assert second.current() == first.current()
    assert second.history() == first.history()
    assert levels(second.history()) == [(Level.LIMITED, Level.MINIMAL), (Level.MINIMAL, Level.LIMITED),
                                       (Level.OPTIMAL, Level.MINIMAL)]
    clock.advance(HOLD)
    assert second.evaluate().to_level is Level.OPTIMAL


def test_the_module_api_reads_the_same_redis_after_a_restart(settings):
    settings.DEGRADATION_HEALTH_CHECKS = {}
    degradation_force(level=Level.MINIMAL, reason="maintenance")
    degradation.reset_manager()  # the module's state is gone, Redis is not
    assert degradation_current().level is Level.MINIMAL and degradation_current().forced
    assert degradation_history(limit=1)[0].reason == "maintenance"


def test_history_is_newest_first_and_capped(manager):
    for number in range(HISTORY_CAP + 10):
        manager.force(level=Level.DEGRADED if number % 2 else Level.LIMITED, reason=f"change {number}")
    history = manager.history(limit=HISTORY_CAP + 100)
    assert len(history) == HISTORY_CAP
    assert [change.reason for change in history[:3]] == [f"change {HISTORY_CAP + 9 - n}" for n in range(3)]
    assert history[-1].reason == "change 10"
    assert [change.reason for change in manager.history(limit=2)] == [f"change {HISTORY_CAP + 9}", f"change {HISTORY_CAP + 8}"]
    assert manager.store.shared.client.llen(manager.store.shared.history_key) == HISTORY_CAP


def test_keys_live_under_the_resilience_prefix(manager, own_prefix, health):
    health.set("redis")
    manager.evaluate()
    client = manager.store.shared.client
    assert sorted(key.decode() for key in client.keys(f"{own_prefix}:degradation:*")) == [
        f"{own_prefix}:degradation:history", f"{own_prefix}:degradation:state"]


# Redis away --------------------------------------------------------------------------------------------
def test_without_redis_the_state_lives_in_memory_and_is_at_least_degraded(make_manager, health, clock):
    manager = make_manager(url=f"redis://127.0.0.1:{free_local_port()}/0")
    assert manager.current() == DegradationState(Level.DEGRADED, False, "state store unreachable", 0)
    change = manager.evaluate()  # everything else healthy
    assert (change.to_level, change.reason) == (Level.DEGRADED, "state store unreachable")
    health.set("database")
    assert manager.evaluate().to_level is Level.MINIMAL
    assert "state store unreachable" in manager.current().reason
    assert levels(manager.history()) == [(Level.DEGRADED, Level.MINIMAL), (Level.OPTIMAL, Level.DEGRADED)]
    with pytest.raises(DegradationStoreUnavailable):  # staff actions must reach every process
        manager.force(level=Level.EMERGENCY, reason="staff")
    with pytest.raises(DegradationStoreUnavailable):
        manager.release(reason="staff")


def test_when_redis_answers_again_the_shared_state_wins(manager, make_manager, health, clock):
    shared = manager.store.shared
    reachable = shared.client
    manager.evaluate()  # OPTIMAL, in Redis
    other = make_manager()
    shared.client = redis.Redis.from_url(f"redis://127.0.0.1:{free_local_port()}/0", socket_connect_timeout=0.5)
    clock.advance(1)
    assert manager.evaluate().to_level is Level.DEGRADED  # in memory only
    other.force(level=Level.EMERGENCY, reason="staff, from a process that reaches Redis")

    shared.client = reachable
    clock.advance(1)
    manager.evaluate()  # what this process decided alone is dropped, not written over the force
    state = other.current()
    assert (state.level, state.forced) == (Level.EMERGENCY, True)
    assert manager.current().level is Level.EMERGENCY


def test_an_unreachable_redis_is_skipped_once_the_redis_breaker_opens(settings):
    settings.RESILIENCE_REDIS_URL = f"redis://127.0.0.1:{free_local_port()}/0"
    settings.DEGRADATION_HEALTH_CHECKS = {}
    for _ in range(django_settings.RESILIENCE_BREAKERS["redis"]["volume_threshold"]):
        degradation_current()
    assert breakers.get_breaker("redis").state.value == "open"
    assert degradation_current().level is Level.DEGRADED


# Broadcast --------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_change_reaches_the_channel_layer_group():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(BROADCAST_GROUP, channel)
    try:
        change = await sync_to_async(degradation_force)(level=Level.MINIMAL, reason="maintenance window")
        while True:
            event = await asyncio.wait_for(layer.receive(channel), 5)
            if event["reason"] == "maintenance window":
                break
        assert event == {"type": "degradation.changed", "level": 3, "forced": True, "reason": "maintenance window"}
        assert change.to_level is Level.MINIMAL
    finally:
        await layer.group_discard(BROADCAST_GROUP, channel)


def test_a_broken_channel_layer_is_logged_and_the_change_still_stored(settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_local_port()}/0"]}}}
    with caplog.at_level(logging.WARNING, logger="resilience.degradation"):
        change = degradation_force(level=Level.LIMITED, reason="staff")
    assert change.to_level is Level.LIMITED
    assert degradation_current().level is Level.LIMITED
    assert "broadcast of optimal -> limited failed" in caplog.text


def test_changes_are_logged_without_anything_but_levels_and_components(manager, health, caplog):
    health.set("ai:openai", "ai:anthropic")
    with caplog.at_level(logging.INFO, logger="resilience.degradation"):
        manager.evaluate()
    assert "degradation level optimal -> limited (no AI provider available: ai:openai, ai:anthropic)" in caplog.text


# Wiring: metric, readiness, task, breaker transitions -----------------------------------------------------
@pytest.mark.django_db
def test_the_level_is_a_prometheus_metric(client):
    degradation_force(level=Level.LIMITED, reason="staff")
    body = client.get("/metrics").content.decode()
    assert "degradation_level 2.0" in body.splitlines()
    assert "degradation_forced 1.0" in body.splitlines()
    degradation_release(reason="staff")
    assert "degradation_level 0.0" in client.get("/metrics").content.decode().splitlines()


@pytest.fixture
def operator(settings) -> dict[str, str]:
    """The headers of a request that may read readiness details (tests/security has the rest)."""
    settings.METRICS_TOKEN = "operator-token"
    return {"authorization": "Bearer operator-token"}


@pytest.mark.django_db
def test_readyz_is_ready_when_everything_answers(client, settings, operator):
    settings.DEGRADATION_AI_PROVIDERS = ""
    response = client.get("/readyz", headers=operator)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "level": "optimal", "forced": False, "components": [
        {"name": "database", "ok": True, "detail": "SELECT 1 ok"},
        {"name": "redis", "ok": True, "detail": "PING ok"},
    ]}  # cheap enough to poll: no broker or AI checks


@pytest.mark.django_db
@pytest.mark.parametrize(("level", "status"), [(Level.DEGRADED, "degraded"), (Level.MINIMAL, "degraded")])
def test_readyz_stays_200_while_degraded(client, level, status, operator):
    degradation_force(level=level, reason="staff")
    response = client.get("/readyz", headers=operator)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["level"], response.json()["forced"]) == (status, level.label, True)


@pytest.mark.django_db
def test_readyz_is_503_in_an_emergency(client, operator):
    degradation_force(level=Level.EMERGENCY, reason="incident")
    response = client.get("/readyz", headers=operator)
    assert response.status_code == 503
    assert (response.json()["status"], response.json()["level"]) == ("unavailable", "emergency")


@pytest.mark.django_db
def test_readyz_says_degraded_but_stays_in_service_when_the_database_is_down(client, monkeypatch, tmp_path, operator):
    break_database(monkeypatch, tmp_path)
    response = client.get("/readyz", headers=operator)
    assert response.status_code == 200  # MINIMAL: the process still keeps answers and shows status
    body = response.json()
    assert body["status"] == "degraded"
    assert {"name": "database", "ok": False, "detail": "OperationalError"} in body["components"]


@pytest.mark.django_db
def test_the_celery_task_evaluates_and_beat_runs_it(settings, monkeypatch):
    from resilience.tasks import degradation_evaluate as task

    settings.DEGRADATION_HEALTH_CHECKS = {"switch": "tests.resilience.test_degradation.switched_component"}
    SWITCH.update(name="broker", ok=False)
    assert task.apply().get() == int(Level.DEGRADED)
    assert "resilience.tasks.degradation_evaluate" in celery_app.tasks
    entry = celery_app.conf.beat_schedule["degradation-evaluate"]
    assert entry["task"] == "resilience.tasks.degradation_evaluate"
    assert entry["schedule"] == settings.DEGRADATION_EVAL_INTERVAL == 30


def test_the_evaluation_interval_comes_from_the_environment():
    code = ("from django.conf import settings; "
            "print(settings.CELERY_BEAT_SCHEDULE['degradation-evaluate']['schedule'])")
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DEGRADATION_EVAL_INTERVAL": "7"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "7.0"


def only_openai() -> list[str]:
    return ["openai"]


@pytest.fixture
def watching_openai(settings):
    """Health: everything answers; the AI component comes from the real `openai` breaker."""
    settings.DEGRADATION_HEALTH_CHECKS = {"ai": "resilience.health.ai_provider_health"}
    settings.DEGRADATION_AI_PROVIDERS = "tests.resilience.test_degradation.only_openai"
    settings.DEGRADATION_RECOVERY_HOLD = 0


def _eventually(level: Level) -> DegradationState:
    """Requested evaluations run in a background thread: wait for the level a moment."""
    for _ in range(100):
        state = degradation_current()
        if state.level is level:
            return state
        time.sleep(0.05)
    raise AssertionError(f"the level never became {level.label}")


def test_a_breaker_transition_reevaluates_at_once(watching_openai):
    assert degradation.on_breaker_transition in breakers.transition_hooks
    breakers.get_breaker("openai").force_open()
    state = _eventually(Level.LIMITED)
    assert "ai:openai" in state.reason
    breakers.get_breaker("openai").reset()
    _eventually(Level.OPTIMAL)
    assert levels(degradation_history()) == [(Level.LIMITED, Level.OPTIMAL), (Level.OPTIMAL, Level.LIMITED)]


@pytest.mark.asyncio
async def test_a_breaker_opening_in_async_code_reevaluates_off_the_event_loop(watching_openai):
    breaker = breakers.get_breaker("openai")

    async def failing() -> None:
        raise ConnectionError("provider down")

    for _ in range(breaker.config.volume_threshold):
        await breaker.call(failing, fallback=lambda error: None)
    for _ in range(100):  # the evaluation runs in a worker thread; wait for its result
        if (await sync_to_async(degradation_current)()).level is Level.LIMITED:
            break
        await asyncio.sleep(0.05)
    assert (await sync_to_async(degradation_current)()).level is Level.LIMITED


def test_a_failing_hook_does_not_disturb_the_breaker(monkeypatch, caplog):
    def broken_hook(breaker, transition):
        raise RuntimeError("hook bug")

    monkeypatch.setattr(breakers, "transition_hooks", [broken_hook])
    with caplog.at_level(logging.ERROR, logger="resilience.breakers"):
        breakers.get_breaker("storage").force_open()
    assert breakers.get_breaker("storage").state.value == "forced_open"
    assert "transition hook" in caplog.text


def test_request_evaluation_never_raises(monkeypatch, caplog):
    def broken(self) -> LevelChange | None:
        raise RuntimeError("bug")

    monkeypatch.setattr(DegradationManager, "evaluate", broken)
    with caplog.at_level(logging.ERROR, logger="resilience.degradation"):
        assert request_evaluation() is None
        for _ in range(100):  # it runs in a background thread
            if "evaluation failed" in caplog.text:
                break
            time.sleep(0.05)
    assert "evaluation failed" in caplog.text


@pytest.mark.asyncio
async def test_request_evaluation_from_async_code_does_not_block_and_never_raises(monkeypatch):
    ran = asyncio.Event()
    loop = asyncio.get_running_loop()

    def broken(self) -> LevelChange | None:
        loop.call_soon_threadsafe(ran.set)
        raise RuntimeError("bug")

    monkeypatch.setattr(DegradationManager, "evaluate", broken)
    assert request_evaluation() is None
    await asyncio.wait_for(ran.wait(), 5)
