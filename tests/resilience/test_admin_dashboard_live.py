"""The status dashboard, live: when each open breaker's next probe is due, the earliest the level
can be back to OPTIMAL (computed from those probes, the next evaluation and the recovery hold),
why the level is what it is, and live/, the read-only parts htmx swaps into the open page every
few seconds (never the forms)."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from html import unescape

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.utils.timezone import localtime

from resilience import degradation
from resilience.breakers import CircuitBreaker, get_breaker, next_probe_at_ms, snapshots
from resilience.degradation import Level, degradation_evaluate, degradation_force
from resilience.health import ComponentHealth
from resilience.machine import State
from resilience.store import RedisBreakerStore
from tests.resilience.test_dashboard import staff_user

pytestmark = pytest.mark.django_db

PAGE = "/admin/resilience/servicestatus/"
LIVE = f"{PAGE}live/"
BREAKERS = "/admin/resilience/circuitbreakerentry/"
HOLD, INTERVAL = 60, 30  # DEGRADATION_RECOVERY_HOLD, DEGRADATION_EVAL_INTERVAL (set below)


@pytest.fixture(autouse=True)
def fresh_degradation(fresh_breaker_registry, settings):
    """The level on this test's own key prefix; no AI provider configured unless a test says so."""
    settings.DEGRADATION_RECOVERY_HOLD, settings.DEGRADATION_EVAL_INTERVAL = HOLD, INTERVAL
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = settings.LOCAL_LLM_BASE_URL = ""
    degradation.reset_manager()
    yield
    degradation.reset_manager()


def own_breaker(name: str, *, seconds_ago: float = 0.0) -> CircuitBreaker:
    """The project's breaker `name` in the shared store, with a clock `seconds_ago` behind and no
    listeners (no evaluation of the level is requested behind the test's back); one failure opens it."""
    store = RedisBreakerStore(django_settings.RESILIENCE_REDIS_URL, prefix=django_settings.RESILIENCE_KEY_PREFIX)
    config = replace(get_breaker(name).config, failure_threshold=1, volume_threshold=1)
    return CircuitBreaker(config, store, clock=lambda: time.time() - seconds_ago, listeners=[])


def trip(name: str, *, seconds_ago: float = 0.0) -> CircuitBreaker:
    """Open `name` as if it had opened `seconds_ago`."""
    breaker = own_breaker(name, seconds_ago=seconds_ago)

    def fail() -> None:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        breaker.call_sync(fail)
    assert breaker.state is State.OPEN
    return breaker


def snapshot_of(name: str):
    return next(snapshot for snapshot in snapshots() if snapshot.name == name)


def clock_time(ms: int) -> str:
    return localtime(datetime.fromtimestamp(ms / 1000, tz=timezone.utc)).strftime("%H:%M:%S")


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


def page_of(client, url: str = PAGE, **headers: str) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def probe_cell(page: str, name: str) -> str:
    row = re.search(rf'data-breaker="{re.escape(name)}".*?<td class="breaker-probe">(.*?)</td>', page, re.DOTALL)
    return text(row.group(1))


def recovery(page: str) -> str | None:
    found = re.search(r'<p id="level-recovery">(.*?)</p>', page, re.DOTALL)
    return text(found.group(1)) if found else None


def broker_down() -> ComponentHealth:
    return ComponentHealth("broker", False, "ConnectionError")


@pytest.fixture
def broker_check(settings) -> Callable[[bool], None]:
    """Make the broker's health check fail (or pass again)."""
    healthy = dict(settings.DEGRADATION_HEALTH_CHECKS)

    def set_down(down: bool) -> None:
        settings.DEGRADATION_HEALTH_CHECKS = {**healthy, "broker": f"{__name__}.broker_down"} if down else healthy

    return set_down


# --- When an open breaker's next probe is due ------------------------------------------------------

def test_an_open_breaker_shows_when_its_probe_is_due_in_both_languages(admin_client):
    trip("storage", seconds_ago=10)  # storage's recovery timeout: 30 s
    opened = snapshot_of("storage").changed_at_ms
    assert next_probe_at_ms(snapshot_of("storage")) == opened + 30_000
    due = clock_time(opened + 30_000)

    assert re.fullmatch(rf"{due} \(en (19|20) s\)", probe_cell(page_of(admin_client), "storage"))
    assert re.fullmatch(rf"{due} \(in (19|20) s\)",
                        probe_cell(page_of(admin_client, HTTP_ACCEPT_LANGUAGE="en"), "storage"))
    assert re.fullmatch(rf"{due} \(en (19|20) s\)", probe_cell(page_of(admin_client, BREAKERS), "storage"))
    assert probe_cell(page_of(admin_client), "openai") == "—"  # closed: nothing due


def test_a_probe_past_its_time_waits_for_the_next_call(admin_client):
    trip("storage", seconds_ago=45)
    assert probe_cell(page_of(admin_client), "storage") == "toca ya: la próxima llamada es la prueba"


def test_a_half_open_breaker_is_probing_and_a_forced_one_waits_for_staff(admin_client):
    trip("storage", seconds_ago=45)
    with own_breaker("storage").attempt_sync():  # now, past the recovery timeout: this call is the probe
        assert snapshot_of("storage").state is State.HALF_OPEN
        assert probe_cell(page_of(admin_client), "storage") == "probando"
    get_breaker("storage").force_open("maintenance")
    assert next_probe_at_ms(snapshot_of("storage")) is None
    assert probe_cell(page_of(admin_client), "storage") == "cuando el equipo lo restablezca"


# --- When the level can be back to OPTIMAL ---------------------------------------------------------

def test_optimal_and_forced_levels_give_no_time(admin_client):
    degradation_evaluate()
    page = page_of(admin_client)
    assert 'data-level="optimal"' in page and recovery(page) is None

    trip("database")
    degradation_force(level=Level.MINIMAL, reason="migración")
    page = page_of(admin_client)
    assert "se mantiene hasta que se libere" in text(page) and recovery(page) is None


def test_an_open_breaker_holding_the_level_down_gives_its_probe_plus_the_hold(admin_client):
    trip("database", seconds_ago=10)  # database's recovery timeout: 30 s
    degradation_evaluate()
    due = snapshot_of("database").changed_at_ms + 30_000
    back = clock_time(due + HOLD * 1000)

    page = page_of(admin_client)
    assert 'data-level="minimal"' in page and "Por qué: database unavailable: database" in text(page)
    assert re.match(rf"De vuelta a OPTIMAL hacia las {back} \(en (79|80) s\), como pronto\. Calculado ", recovery(page))
    assert re.match(rf"Back to OPTIMAL around {back} \(in (79|80) s\) at the earliest\. Computed ",
                    recovery(page_of(admin_client, HTTP_ACCEPT_LANGUAGE="en")))


def test_a_failed_health_check_counts_from_the_next_evaluation_and_the_hold_then_runs(admin_client, broker_check,
                                                                                       settings):
    settings.BREAKER_OVERRIDES = '{"storage": {"recovery_timeout": 300}}'
    trip("storage")  # no rule watches it: it does not hold the level down
    broker_check(True)
    degradation_evaluate()  # DEGRADED; the broker is asked again at the next evaluation
    page = page_of(admin_client)
    assert "Por qué: running without: broker" in text(page)
    assert re.search(rf"\(en ({INTERVAL + HOLD - 1}|{INTERVAL + HOLD}) s\)", recovery(page))

    broker_check(False)
    degradation_evaluate()  # healthy again, but a better level waits for the hold
    page = page_of(admin_client)
    assert 'data-level="degraded"' in page
    assert re.search(rf"\(en ({HOLD - 1}|{HOLD}) s\)", recovery(page))


def test_a_hold_shorter_than_the_interval_waits_for_the_next_scheduled_evaluation(admin_client, broker_check,
                                                                                   settings):
    settings.DEGRADATION_RECOVERY_HOLD = 10
    broker_check(True)
    degradation_evaluate()
    broker_check(False)
    degradation_evaluate()  # healthy: the hold ends in 10 s, but only an evaluation applies it
    assert re.search(rf"\(en ({INTERVAL - 1}|{INTERVAL}) s\)", recovery(page_of(admin_client)))


def test_with_redis_unreachable_no_time_is_given(admin_client, settings):
    settings.RESILIENCE_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    page = page_of(admin_client)
    assert 'data-level="degraded"' in page and "state store unreachable" in page
    assert recovery(page) is None


def test_a_breaker_staff_forced_open_gives_no_time(admin_client):
    get_breaker("database").force_open("maintenance")
    degradation_evaluate()
    page = page_of(admin_client)
    assert 'data-level="minimal"' in page and recovery(page) is None


def test_the_reason_names_the_provider_that_failed_not_the_backup_in_use(admin_client, settings):
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = "sk-test"
    anthropic = trip("anthropic")  # the backup fails; OpenAI answers
    degradation_evaluate()
    why = re.search(r"Por qué: [^<]*", page_of(admin_client)).group(0)
    assert why == "Por qué: running without: ai:anthropic" and "fallback" not in why

    anthropic.reset()
    trip("openai")  # the first provider fails; Anthropic, the backup, answers
    degradation_evaluate()
    assert "Por qué: running without: ai:openai" in text(page_of(admin_client))


# --- live/: what htmx swaps in ----------------------------------------------------------------------

def test_the_dashboard_polls_live_for_its_read_only_parts(admin_client):
    page = page_of(admin_client)
    assert re.search(rf'<div id="status-live" hidden hx-get="{LIVE}" hx-trigger="every 5s" hx-swap="none">', page)
    assert re.search(r'<script src="/static/vendor/htmx-2\.0\.11/htmx\.min\.[0-9a-f]+\.js" defer>', page)
    assert '"includeIndicatorStyles": false, "allowEval": false' in page  # nothing inline for the CSP

    degradation_force(level=Level.EMERGENCY, reason="simulacro")
    trip("storage")
    live = page_of(admin_client, LIVE)
    for part in ("status-level", "status-timeline", "status-breakers"):
        assert len(re.findall(rf'id="{part}"[^>]* hx-swap-oob="true"', live)) == 1
    assert 'data-level="emergency" data-forced="true"' in live
    assert 'data-breaker="storage" data-state="open"' in live
    assert "<li data-to=\"emergency\">" in live
    # Never a form (what staff type stays), nor the page around the parts.
    assert "<form" not in live and "csrfmiddlewaretoken" not in live and "<html" not in live
    assert 'id="force-level-form"' in page


def test_live_needs_the_dashboards_permission(client):
    client.force_login(staff_user("viewer", "view_servicestatus"))
    assert client.get(LIVE).status_code == 200
    client.force_login(staff_user("other", "view_circuitbreakerentry"))
    assert client.get(LIVE).status_code == 403
    client.force_login(get_user_model().objects.create_user("artist", password="x"))
    response = client.get(LIVE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_with_no_ai_provider_configured_the_dashboard_says_so_plainly(admin_client, settings):
    notice = re.compile(r'<p id="no-ai-provider" class="errornote">(.*?)</p>', re.DOTALL)
    found = notice.search(page_of(admin_client))
    assert found and text(found.group(1)).startswith("No hay ningún proveedor de IA configurado: todas las respuestas")
    assert notice.search(page_of(admin_client, LIVE))  # and it stays in the refreshed parts
    settings.OPENAI_API_KEY = "fake"
    assert not notice.search(page_of(admin_client))
