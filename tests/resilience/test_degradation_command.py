"""The level from the command line, for when the admin cannot be reached."""
from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from resilience import degradation
from resilience.degradation import Level, degradation_current

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_levels(settings):
    settings.RESILIENCE_KEY_PREFIX = f"test-cli-{uuid.uuid4().hex[:10]}"
    degradation.reset_manager()
    yield
    degradation.reset_manager()


def run(*arguments: str) -> str:
    out = StringIO()
    call_command("degradation", *arguments, stdout=out)
    return out.getvalue()


def test_force_status_history_and_release():
    assert "forced: optimal -> limited" in run("force", "limited", "--reason", "AI maintenance")
    state = degradation_current()
    assert (state.level, state.forced) == (Level.LIMITED, True) and "AI maintenance" in state.reason
    assert "level: limited (forced" in run("status")
    assert "optimal -> limited (forced): AI maintenance" in run("history")
    assert "released:" in run("release", "--reason", "done")
    assert not degradation_current().forced


def test_a_level_that_never_changed_says_so_not_1970():
    status = run("status")
    assert status.startswith("level: optimal (from the health checks, never changed)")
    assert "1970" not in status


def test_an_unknown_level_is_refused():
    with pytest.raises(CommandError):
        run("force", "panic", "--reason", "x")


def test_without_redis_nothing_changes_and_it_says_so(settings):
    settings.RESILIENCE_REDIS_URL = "redis://127.0.0.1:1/0"
    degradation.reset_manager()
    with pytest.raises(CommandError, match="Redis is unreachable"):
        run("force", "limited", "--reason", "x")
