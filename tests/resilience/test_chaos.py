"""Chaos drills on a real Redis: start, list, stop, expiry, the per-process answer of
`chaos_active`, Redis away, the command, and a drill started by another process.

Each test has a key prefix of its own (conftest's `fresh_breaker_registry`)."""
from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command

from resilience import chaos
from resilience.chaos import ChaosFault, chaos_active, chaos_active_async, chaos_drills, chaos_start, chaos_stop
from resilience.breakers import get_breaker
from resilience.machine import State
from resilience.store import REDIS_BREAKER, REDIS_TROUBLE

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens there
ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """`chaos_active`'s memory on a clock the test moves."""
    clock = FakeClock()
    monkeypatch.setattr(chaos, "_active_cache", chaos._ActiveCache(clock=clock))
    return clock


@pytest.fixture
def redis_reads(monkeypatch) -> list[int]:
    """Counts the times `chaos_active` asks Redis."""
    reads: list[int] = []
    read = chaos._read_active

    def counted() -> frozenset[str]:
        reads.append(1)
        return read()

    monkeypatch.setattr(chaos, "_read_active", counted)
    return reads


def raw_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.RESILIENCE_REDIS_URL)


def drill_key(provider: str) -> str:
    return f"{settings.RESILIENCE_KEY_PREFIX}:chaos:{provider}"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("chaos_drill", *args, stdout=out)
    return out.getvalue()


# --- The API ------------------------------------------------------------------------------------

def test_no_drill_by_default():
    assert chaos_drills() == []
    assert not any(chaos_active(provider) for provider in chaos.PROVIDERS)


def test_a_drill_starts_is_listed_and_stops():
    chaos_start(provider="anthropic", seconds=120, started_by="ana")
    assert chaos_active("anthropic")
    assert not chaos_active("openai") and not chaos_active("local")
    [drill] = chaos_drills()
    assert drill["provider"] == "anthropic" and drill["started_by"] == "ana"
    assert 119 <= drill["remaining_seconds"] <= 120
    assert 119_000 <= raw_redis().pttl(drill_key("anthropic")) <= 120_000  # the drill's own TTL

    chaos_stop(provider="anthropic")
    assert not chaos_active("anthropic")  # at once in the process that stopped it
    assert chaos_drills() == []
    assert not raw_redis().exists(drill_key("anthropic"))


def test_drills_are_listed_in_provider_order_and_a_new_start_replaces_a_drill():
    chaos_start(provider="local", seconds=30, started_by="bo")
    chaos_start(provider="openai", seconds=600, started_by="ana")
    chaos_start(provider="local", seconds=3600, started_by="cy")
    drills = chaos_drills()
    assert [(d["provider"], d["started_by"]) for d in drills] == [("openai", "ana"), ("local", "cy")]
    assert drills[1]["remaining_seconds"] > 3500


def test_a_drill_ends_by_itself():
    chaos_start(provider="openai", seconds=1, started_by="ana")
    assert chaos_active("openai")
    time.sleep(1.2)  # the only sleep: Redis's TTL is the drill's clock
    assert chaos_drills() == []
    assert not chaos_active("openai")
    assert not raw_redis().exists(drill_key("openai"))


@pytest.mark.parametrize(("provider", "seconds"), [
    ("template", 60), ("OpenAI", 60), ("", 60),
    ("openai", 0), ("openai", -5), ("openai", 3601), ("openai", 1.5), ("openai", True), ("openai", "60"),
])
def test_a_bad_drill_is_refused_and_nothing_is_written(provider, seconds):
    with pytest.raises(ValueError):
        chaos_start(provider=provider, seconds=seconds, started_by="ana")
    assert chaos_drills() == []
    assert not raw_redis().keys(f"{settings.RESILIENCE_KEY_PREFIX}:chaos:*")


def test_the_limits_are_accepted():
    chaos_start(provider="openai", seconds=1, started_by="ana")
    chaos_start(provider="local", seconds=3600, started_by="ana")
    assert {d["provider"] for d in chaos_drills()} == {"openai", "local"}


def test_stop_refuses_an_unknown_provider_and_accepts_an_idle_one():
    with pytest.raises(ValueError):
        chaos_stop(provider="template")
    chaos_stop(provider="openai")  # nothing running: nothing happens
    assert chaos_drills() == []


def test_chaos_fault_names_the_provider():
    fault = ChaosFault("anthropic")
    assert str(fault) == "chaos drill: anthropic made to fail by staff"
    assert fault.provider == "anthropic" and isinstance(fault, Exception)


def test_starts_and_stops_are_logged_without_more_than_who_and_what(caplog):
    with caplog.at_level(logging.INFO, logger="resilience.chaos"):
        chaos_start(provider="openai", seconds=90, started_by="ana")
        chaos_stop(provider="openai")
    records = [record for record in caplog.records if record.name == "resilience.chaos"]
    assert [record.getMessage() for record in records] == [
        "chaos drill started: openai made to fail for 90 s by ana", "chaos drill stopped: openai"]
    assert [record.levelno for record in records] == [logging.WARNING, logging.INFO]


# --- chaos_active's per-process memory ----------------------------------------------------------

def test_chaos_active_asks_redis_at_most_once_a_second(clock, redis_reads):
    for _ in range(100):
        for provider in chaos.PROVIDERS:
            assert not chaos_active(provider)
    assert len(redis_reads) == 1  # one MGET answers every provider
    clock.now += 0.999
    chaos_active("openai")
    assert len(redis_reads) == 1
    clock.now += 0.002
    chaos_active("openai")
    assert len(redis_reads) == 2


def test_on_an_event_loop_the_answer_comes_from_memory_and_redis_is_asked_off_the_loop(clock, monkeypatch):
    """The provider code asks from its event loop: no Redis call on the loop, and none at all
    while this process's answer is fresh."""
    asked_on: list[str] = []
    read = chaos._read_active

    def noted() -> frozenset[str]:
        asked_on.append(threading.current_thread().name)
        return read()

    monkeypatch.setattr(chaos, "_read_active", noted)

    async def ask() -> list[bool]:
        first = [await chaos_active_async(provider) for provider in chaos.PROVIDERS]
        raw_redis().set(drill_key("openai"), '{"started_by": "elsewhere"}', ex=60)
        fresh = await chaos_active_async("openai")
        clock.now += 1.0
        return [*first, fresh, await chaos_active_async("openai")]

    assert asyncio.run(ask()) == [False, False, False, False, True]
    assert len(asked_on) == 2 and threading.main_thread().name not in asked_on


def test_another_processs_drill_is_seen_within_a_second(clock):
    assert not chaos_active("openai")
    # Another process starts a drill: this one does not know until its answer is a second old.
    raw_redis().set(drill_key("openai"), '{"started_by": "elsewhere"}', ex=60)
    assert not chaos_active("openai")
    clock.now += 1.0
    assert chaos_active("openai")
    # ... and ends it.
    raw_redis().delete(drill_key("openai"))
    clock.now += 0.5
    assert chaos_active("openai")
    clock.now += 0.5
    assert not chaos_active("openai")


def test_this_processs_start_and_stop_take_effect_at_once(clock, redis_reads):
    assert not chaos_active("local")
    chaos_start(provider="local", seconds=60, started_by="ana")
    assert chaos_active("local")
    chaos_stop(provider="local")
    assert not chaos_active("local")
    assert len(redis_reads) == 3


def test_the_answer_is_per_key_prefix(clock, settings):
    chaos_start(provider="openai", seconds=60, started_by="ana")
    assert chaos_active("openai")
    settings.RESILIENCE_KEY_PREFIX = f"test-other-{uuid.uuid4().hex[:8]}"  # another deployment
    assert not chaos_active("openai")


def test_redis_unreachable_means_no_drill_and_is_asked_once_a_second(clock, redis_reads, settings):
    chaos_start(provider="openai", seconds=60, started_by="ana")
    settings.RESILIENCE_REDIS_URL = UNREACHABLE
    started = time.monotonic()
    assert not any(chaos_active(provider) for _ in range(50) for provider in chaos.PROVIDERS)
    assert time.monotonic() - started < 1.0
    assert len(redis_reads) == 1
    clock.now += 1.0
    assert not chaos_active("openai")
    assert len(redis_reads) == 2


def test_a_dead_redis_opens_the_redis_breaker_and_is_then_left_alone(clock, settings, monkeypatch):
    settings.RESILIENCE_REDIS_URL = UNREACHABLE
    for _ in range(5):  # the `redis` breaker opens after 5 failures
        assert not chaos_active("openai")
        clock.now += 1.0
    assert get_breaker(REDIS_BREAKER).state is State.OPEN

    def never_called() -> redis.Redis:
        raise AssertionError("Redis was asked while the redis breaker is open")

    monkeypatch.setattr(chaos, "shared_redis", never_called)
    assert not chaos_active("openai")


def test_with_redis_unreachable_staff_actions_fail_loudly(settings):
    settings.RESILIENCE_REDIS_URL = UNREACHABLE
    with pytest.raises(REDIS_TROUBLE):
        chaos_start(provider="openai", seconds=60, started_by="ana")
    with pytest.raises(REDIS_TROUBLE):
        chaos_stop(provider="openai")
    with pytest.raises(REDIS_TROUBLE):
        chaos_drills()


# --- The command --------------------------------------------------------------------------------

def test_the_command_starts_lists_and_stops_a_drill():
    out = run("openai", "--seconds", "120")
    assert "Chaos drill started: openai fails in every process for 120 s" in out
    assert chaos_active("openai")
    [drill] = chaos_drills()
    assert drill["remaining_seconds"] >= 119 and "manage.py chaos_drill" in drill["started_by"]

    listed = run("--list")
    assert listed.startswith("openai: fails for 1") and "s more (started by " in listed

    assert "Chaos drill stopped: openai" in run("openai", "--stop")
    assert not chaos_active("openai")
    assert run("openai", "--stop") == "No chaos drill was running on openai: nothing to stop.\n"
    assert run("--list") == "No chaos drill is running.\n"


def test_the_command_has_a_default_duration():
    assert "for 60 s" in run("local")
    assert 59 <= chaos_drills()[0]["remaining_seconds"] <= 60


@pytest.mark.parametrize("args", [
    ("openai", "--seconds", "0"), ("openai", "--seconds", "3601"), ("openai", "--seconds", "ten"),
    ("template",), (), ("--stop",), ("openai", "--stop", "--list"),
])
def test_the_command_refuses_bad_input_and_changes_nothing(args):
    with pytest.raises(CommandError):
        run(*args)
    assert chaos_drills() == []


def test_the_command_says_when_redis_is_unreachable(settings):
    settings.RESILIENCE_REDIS_URL = UNREACHABLE
    for args in (("openai", "--seconds", "60"), ("openai", "--stop"), ("--list",)):
        with pytest.raises(CommandError, match="Redis is unreachable"):
            run(*args)


def test_a_drill_started_by_another_process_is_seen_here(settings):
    """The command in a process of its own, sharing only Redis with this one."""
    deployment = f"test-chaos-{uuid.uuid4().hex[:8]}"
    settings.RESILIENCE_KEY_PREFIX = f"{deployment}:resilience"  # as settings.py derives it
    env = {**os.environ, "REDIS_URL": settings.RESILIENCE_REDIS_URL, "REDIS_KEY_PREFIX": deployment}
    result = subprocess.run([sys.executable, "manage.py", "chaos_drill", "anthropic", "--seconds", "30"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert chaos_active("anthropic")
    assert [d["provider"] for d in chaos_drills()] == ["anthropic"]
