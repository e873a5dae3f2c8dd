"""Staff see every breaker and steer it from the admin; each action is logged; nobody else can."""
from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from resilience.breakers import get_breaker
from resilience.machine import State

pytestmark = pytest.mark.django_db

PAGE = "/admin/resilience/circuitbreakerentry/"


def action_url(name: str, action: str) -> str:
    return f"{PAGE}act/{action}/{name}/"


def row_state(page: str, name: str) -> str:
    return re.search(rf'data-breaker="{re.escape(name)}" data-state="([a-z_]+)"', page).group(1)


def test_staff_see_every_declared_breaker(admin_client):
    page = admin_client.get(PAGE).content.decode()
    for name in ("openai", "anthropic", "local", "database", "redis", "storage"):
        assert row_state(page, name) == "closed"
    assert 'data-breaker="integration"' not in page  # a template, not a breaker


def test_an_integration_breaker_appears_once_used(admin_client):
    get_breaker("integration:booking-webhook").call_sync(lambda: "sent")
    page = admin_client.get(PAGE).content.decode()
    assert row_state(page, "integration:booking-webhook") == "closed"


@pytest.mark.parametrize(("action", "state"), [("force_open", "forced_open"), ("force_closed", "forced_closed")])
def test_staff_force_a_breaker_and_the_action_is_logged(admin_client, admin_user, action, state):
    response = admin_client.post(action_url("openai", action), follow=True)
    assert row_state(response.content.decode(), "openai") == state
    assert get_breaker("openai").state is State(state)
    entry = LogEntry.objects.get(object_id="openai")
    assert entry.user == admin_user and state in entry.get_change_message()
    admin_client.post(action_url("openai", "reset"))
    assert get_breaker("openai").state is State.CLOSED


def test_actions_need_post(admin_client):
    assert admin_client.get(action_url("openai", "force_open")).status_code == 405
    assert get_breaker("openai").state is State.CLOSED


def test_an_unknown_breaker_or_action_changes_nothing(admin_client):
    response = admin_client.post(action_url("nope", "force_open"), follow=True)
    assert "Disyuntor o acción desconocidos" in response.content.decode()
    admin_client.post(action_url("openai", "explode"))
    assert get_breaker("openai").state is State.CLOSED
    assert not LogEntry.objects.exists()


def test_staff_with_view_permission_only_see_no_actions(client):
    user = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_circuitbreakerentry"))
    client.force_login(user)
    page = client.get(PAGE).content.decode()
    assert row_state(page, "openai") == "closed" and "Forzar abierto" not in page
    assert client.post(action_url("openai", "force_open")).status_code == 403
    assert get_breaker("openai").state is State.CLOSED


def test_non_staff_cannot_reach_the_page_or_the_actions(client):
    client.force_login(get_user_model().objects.create_user("artist", password="x"))
    assert client.get(PAGE).status_code == 302
    assert client.post(action_url("openai", "force_open")).status_code == 302
    assert get_breaker("openai").state is State.CLOSED


def test_metrics_export_the_shared_breaker_state(client):
    get_breaker("storage").force_open()
    get_breaker("anthropic").call_sync(lambda: "ok")
    body = client.get("/metrics").content.decode()
    assert 'circuit_breaker_state{breaker="storage"} 1.0' in body
    assert 'circuit_breaker_state{breaker="openai"} 0.0' in body
    assert 'circuit_breaker_forced{breaker="storage"} 1.0' in body
    assert 'circuit_breaker_calls_total{breaker="anthropic"} 1.0' in body
    assert "circuit_breaker_failures_total" in body and "circuit_breaker_fallback_calls_total" in body


def test_a_breakers_history_shows_its_logged_actions(admin_client):
    admin_client.post(action_url("storage", "force_open"))
    page = admin_client.get(f"{PAGE}storage/history/").content.decode()
    assert "forced_open" in page


def test_with_redis_unreachable_actions_fail_loudly_and_the_page_says_so(admin_client, settings):
    settings.RESILIENCE_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    page = admin_client.get(PAGE).content.decode()
    assert "Redis no responde" in page
    response = admin_client.post(action_url("openai", "force_open"), follow=True)
    assert "openai no se ha cambiado" in response.content.decode()
    assert not LogEntry.objects.exists()
