"""The status dashboard in the admin: what staff see (level, breakers, level changes, AI figures,
chaos drills), the actions (force / release a level, start / stop a drill), each one logged,
and who may do what."""
from __future__ import annotations

import re
import uuid
from html import unescape

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from resilience import degradation
from resilience.ai_log import ai_log_write
from resilience.ai_records import AIRequestRecord, RequestStatus, sha256_hex
from resilience.breakers import get_breaker
from resilience.chaos import chaos_active, chaos_drills, chaos_start
from resilience.degradation import (
    Level, degradation_current, degradation_evaluate, degradation_force, degradation_history,
)

pytestmark = pytest.mark.django_db

PAGE = "/admin/resilience/servicestatus/"
ACTIONS = ("force", "release", "chaos_start", "chaos_stop")


def act(action: str) -> str:
    return f"{PAGE}act/{action}/"


def page_of(client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response) -> str:
    return unescape(" ".join(str(message) for message in response.context["messages"]))


def shown_level(page: str) -> tuple[str, str]:
    match = re.search(r'id="status-level"[^>]* data-level="([a-z]+)" data-forced="(true|false)"', page)
    return match.group(1), match.group(2)


def request_record(**fields: object) -> AIRequestRecord:
    failed = fields.get("status", RequestStatus.SUCCESS) != RequestStatus.SUCCESS
    defaults: dict[str, object] = {
        "request_id": uuid.uuid4().hex, "turn_id": uuid.uuid4().hex, "session_id": "s", "step": 1,
        "provider": "openai", "model": "m", "status": RequestStatus.SUCCESS, "latency_ms": 800,
        "first_token_ms": None if failed else 200, "tokens_in": 10, "tokens_out": 5, "retry_count": 0,
        "error_code": "", "error_message": "", "fallback_used": False,
        "prompt_sha256": sha256_hex("p"), "prompt_chars": 1, "reply_sha256": "", "reply_chars": 0,
    }
    return AIRequestRecord(**{**defaults, **fields})


def staff_user(username: str, *codenames: str):
    user = get_user_model().objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture(autouse=True)
def fresh_degradation(fresh_breaker_registry):
    """The level on this test's own key prefix (set by conftest), so each test starts OPTIMAL."""
    degradation.reset_manager()
    yield
    degradation.reset_manager()


@pytest.fixture
def viewer_client(client):
    client.force_login(staff_user("viewer", "view_servicestatus"))
    return client


# --- What staff see -----------------------------------------------------------------------------

def test_with_no_ai_provider_configured_the_dashboard_says_the_templates_answer(admin_client, settings):
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = settings.LOCAL_LLM_BASE_URL = ""
    degradation_evaluate()
    page = page_of(admin_client)
    assert shown_level(page)[0] == "optimal"
    assert "no AI provider is configured, so every reply and bio comes from the templates" in page


def test_the_dashboard_shows_the_level_breakers_ai_figures_and_drills(admin_client):
    degradation_force(level=Level.LIMITED, reason="maintenance of the AI keys")
    get_breaker("storage").force_open("storage maintenance")
    ai_log_write(requests=[
        request_record(),
        request_record(provider="anthropic"),
        request_record(status=RequestStatus.ERROR, error_code="http_500", latency_ms=100),
        request_record(status=RequestStatus.TIMEOUT, error_code="timeout_total", latency_ms=10000),
    ], recoveries=[])
    chaos_start(provider="local", seconds=300, started_by="ana")

    page = page_of(admin_client)
    assert shown_level(page) == ("limited", "true")
    assert ">LIMITED</div>" in page and "maintenance of the AI keys" in page
    for name in ("openai", "anthropic", "local", "database", "redis", "storage"):
        assert f'data-breaker="{name}"' in page
    assert 'data-breaker="storage" data-state="forced_open"' in page
    assert 'data-breaker="openai" data-state="closed"' in page
    assert 'href="/admin/resilience/circuitbreakerentry/"' in page
    # The timeline: the forced change, newest first.
    assert re.search(r'<li data-to="limited">.*?OPTIMAL</span> → <span class="level-chip level--limited">LIMITED',
                     page, re.DOTALL)
    # AI: 4 requests, 2 failed.
    assert 'data-total="4"' in page
    assert re.search(r'id="ai-error-rate">50%<', page)
    assert 'data-provider="openai"' in page and 'data-provider="anthropic"' in page
    # Drills.
    assert re.search(r'class="chaos-drill" data-provider="local">.*?<td>(299|300) s</td>\s*<td>ana</td>', page,
                     re.DOTALL)


def test_a_quiet_service_shows_no_drill_and_no_ai_request(admin_client):
    page = page_of(admin_client)
    assert shown_level(page)[1] == "false"
    assert "No hay ningún simulacro de caos en marcha." in page
    assert "No hay peticiones de IA en este periodo." in page
    assert 'data-total="0"' in page


def test_the_timeline_shows_the_recent_changes_newest_first(admin_client):
    degradation_force(level=Level.DEGRADED, reason="first")
    degradation_force(level=Level.EMERGENCY, reason="second")
    page = page_of(admin_client)
    changes = re.findall(r'<li data-to="([a-z]+)">', page)
    assert changes[:2] == ["emergency", "degraded"]
    assert len(changes) == len(degradation_history(limit=20))


def test_the_dashboard_is_the_first_entry_of_the_resilience_app(admin_client):
    page = admin_client.get("/admin/").content.decode()
    app = page[page.index('class="app-resilience'):]
    links = re.findall(r'href="/admin/resilience/([a-z]+)/"', app)
    assert links[0] == "servicestatus"
    assert {"circuitbreakerentry", "airequestlog"} <= set(links)
    assert re.search(r'<a href="/admin/resilience/servicestatus/">\s*Estado del servicio</a>', app)


# --- The actions --------------------------------------------------------------------------------

def test_staff_force_and_release_a_level_and_both_are_logged(admin_client, admin_user):
    response = admin_client.post(act("force"), {"level": int(Level.MINIMAL), "reason": "database migration"},
                                 follow=True)
    assert "Nivel forzado" in messages_of(response)
    state = degradation_current()
    assert state.level is Level.MINIMAL and state.forced
    assert "database migration (by admin)" in state.reason
    page = response.content.decode()
    assert shown_level(page) == ("minimal", "true") and "Liberar el nivel forzado" in page

    response = admin_client.post(act("release"), follow=True)
    assert "Nivel forzado liberado" in messages_of(response)
    assert not degradation_current().forced
    assert shown_level(response.content.decode())[1] == "false"

    forced, released = LogEntry.objects.filter(object_id="degradation").order_by("action_time", "id")
    assert forced.user == admin_user and released.user == admin_user
    assert "level forced" in forced.get_change_message() and "minimal" in forced.get_change_message()
    assert "database migration" in forced.get_change_message()
    assert "forced level released" in released.get_change_message()
    history = admin_client.get(f"{PAGE}degradation/history/").content.decode()
    assert "database migration" in unescape(history)


def test_staff_start_and_stop_a_drill_and_both_are_logged(admin_client, admin_user):
    response = admin_client.post(act("chaos_start"), {"provider": "openai", "seconds": "90"}, follow=True)
    assert "Simulacro de caos iniciado: openai" in messages_of(response)
    assert chaos_active("openai")
    [drill] = chaos_drills()
    assert drill["started_by"] == "admin" and drill["remaining_seconds"] >= 89
    assert 'class="chaos-drill" data-provider="openai"' in response.content.decode()

    response = admin_client.post(act("chaos_stop"), {"provider": "openai"}, follow=True)
    assert "Simulacro de caos detenido: a openai" in messages_of(response)
    assert not chaos_active("openai") and chaos_drills() == []
    assert "No hay ningún simulacro de caos en marcha." in response.content.decode()

    started, stopped = LogEntry.objects.filter(object_id="chaos:openai").order_by("action_time", "id")
    assert started.user == admin_user and "chaos drill started: openai fails for 90 s" in started.get_change_message()
    assert "chaos drill stopped: openai" in stopped.get_change_message()
    assert admin_client.get(f"{PAGE}chaos_3Aopenai/history/").status_code == 200


def test_releasing_when_nothing_is_forced_changes_nothing(admin_client):
    response = admin_client.post(act("release"), follow=True)
    assert "nada que liberar" in messages_of(response)
    assert not LogEntry.objects.exists()


def test_stopping_a_drill_that_is_not_running_changes_nothing(admin_client):
    response = admin_client.post(act("chaos_stop"), {"provider": "anthropic"}, follow=True)
    assert "nada que detener" in messages_of(response)
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(("action", "data", "message"), [
    ("explode", {}, "Acción desconocida: explode"),
    ("force", {"level": "3"}, "No se ha forzado ningún nivel"),
    ("force", {"level": "3", "reason": "   "}, "No se ha forzado ningún nivel"),
    ("force", {"level": "9", "reason": "why"}, "No se ha forzado ningún nivel"),
    ("force", {"level": "minimal", "reason": "why"}, "No se ha forzado ningún nivel"),
    ("force", {"reason": "why"}, "No se ha forzado ningún nivel"),
    ("force", {"level": "3", "reason": "x" * 201}, "No se ha forzado ningún nivel"),
    ("chaos_start", {"provider": "template", "seconds": "60"}, "No se ha iniciado ningún simulacro"),
    ("chaos_start", {"provider": "openai", "seconds": "0"}, "No se ha iniciado ningún simulacro"),
    ("chaos_start", {"provider": "openai", "seconds": "3601"}, "No se ha iniciado ningún simulacro"),
    ("chaos_start", {"provider": "openai", "seconds": "ten"}, "No se ha iniciado ningún simulacro"),
    ("chaos_start", {"provider": "openai"}, "No se ha iniciado ningún simulacro"),
    ("chaos_stop", {"provider": "nobody"}, "No se ha detenido ningún simulacro"),
])
def test_bad_input_shows_an_error_and_changes_nothing(admin_client, action, data, message):
    before = degradation_current()
    response = admin_client.post(act(action), data, follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert message in messages_of(response)
    after = degradation_current()
    assert (after.level, after.forced) == (before.level, before.forced)
    assert chaos_drills() == []
    assert not LogEntry.objects.exists()


def test_actions_need_post(admin_client):
    for action in ACTIONS:
        assert admin_client.get(act(action)).status_code == 405
    assert not degradation_current().forced


# --- Who may do what ----------------------------------------------------------------------------

def test_view_only_staff_see_the_dashboard_without_controls(viewer_client):
    degradation_force(level=Level.DEGRADED, reason="rehearsal")
    chaos_start(provider="openai", seconds=60, started_by="ana")
    page = page_of(viewer_client)
    assert shown_level(page) == ("degraded", "true")
    assert 'data-breaker="openai"' in page and 'class="chaos-drill" data-provider="openai"' in page
    assert "/act/" not in page
    for button in ("Forzar nivel", "Liberar el nivel forzado", "Iniciar un simulacro de caos", "Detener el simulacro"):
        assert button not in page
    assert 'href="/admin/resilience/circuitbreakerentry/"' not in page  # no permission for that page


@pytest.mark.parametrize(("action", "data"), [
    ("force", {"level": "4", "reason": "why"}),
    ("release", {}),
    ("chaos_start", {"provider": "anthropic", "seconds": "60"}),
    ("chaos_stop", {"provider": "openai"}),
    ("explode", {}),
])
def test_view_only_staff_cannot_act(viewer_client, action, data):
    degradation_force(level=Level.DEGRADED, reason="rehearsal")
    chaos_start(provider="openai", seconds=60, started_by="ana")
    assert viewer_client.post(act(action), data).status_code == 403
    state = degradation_current()
    assert (state.level, state.forced) == (Level.DEGRADED, True)
    assert [drill["provider"] for drill in chaos_drills()] == ["openai"]
    assert not LogEntry.objects.exists()


def test_staff_without_any_status_permission_are_refused(client):
    client.force_login(staff_user("other", "view_circuitbreakerentry"))
    assert client.get(PAGE).status_code == 403
    assert client.post(act("force"), {"level": "4", "reason": "why"}).status_code == 403
    assert not degradation_current().forced


def test_non_staff_are_sent_to_the_login_page(client):
    client.force_login(get_user_model().objects.create_user("artist", password="x"))
    response = client.get(PAGE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    for action in ACTIONS:
        response = client.post(act(action), {"level": "4", "reason": "why", "provider": "openai", "seconds": "60"})
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not degradation_current().forced and chaos_drills() == []


def test_the_change_permission_alone_gives_the_controls(client):
    client.force_login(staff_user("operator", "change_servicestatus"))
    page = page_of(client)
    assert "Forzar nivel" in page and "Iniciar un simulacro de caos" in page
    client.post(act("chaos_start"), {"provider": "local", "seconds": "30"})
    assert chaos_active("local")


# --- Redis away ---------------------------------------------------------------------------------

def test_with_redis_unreachable_the_page_still_answers_and_drills_cannot_start(admin_client, settings):
    settings.RESILIENCE_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    degradation.reset_manager()
    page = page_of(admin_client)
    assert shown_level(page) == ("degraded", "false") and "state store unreachable" in page
    assert "No se pueden leer los simulacros: Redis no responde" in page
    assert 'data-breaker="openai"' in page  # this process's own view
    response = admin_client.post(act("chaos_start"), {"provider": "openai", "seconds": "60"}, follow=True)
    assert "Redis no responde: no se ha cambiado nada" in messages_of(response)
    response = admin_client.post(act("force"), {"level": "3", "reason": "why"}, follow=True)
    assert "Redis no responde: no se ha cambiado nada" in messages_of(response)
    assert not LogEntry.objects.exists()


def test_staff_can_evaluate_the_level_on_demand(admin_client):
    response = admin_client.post("/admin/resilience/servicestatus/act/evaluate/", follow=True)
    assert response.status_code == 200
    assert "Evaluado ahora" in response.content.decode()
