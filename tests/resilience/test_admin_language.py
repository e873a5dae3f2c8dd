"""The admin speaks its staff's language: Spanish by default, English for an admin whose browser
(Accept-Language) or the language cookie asks for it; branded ÍTERA PressKit in both. Our pages,
changelists, forms and messages leave none of our English in the Spanish admin, and the
compiled catalogue is the one its .po file gives."""
from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings

from chat import services as chat_services
from resilience import degradation
from resilience.ai_log import ai_log_write
from resilience.breakers import get_breaker
from resilience.chaos import chaos_start
from resilience.degradation import Level, degradation_force
from resilience.models import QueuedJob
from tests.resilience.test_dashboard import request_record

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/resilience/servicestatus/"
JOBS = "/admin/resilience/queuedjob/"
AI_LOG = "/admin/resilience/airequestlog/"
PRESSKITS = "/admin/presskit/presskit/"
CATALOGUE = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES"

# Our English on the dashboard, and what it says in Spanish.
DASHBOARD_TEXTS = {
    "Degradation level": "Nivel de degradación",
    "Recent level changes": "Cambios recientes de nivel",
    "Circuit breakers": "Disyuntores",
    "Next probe": "Próxima prueba",
    "Queued jobs": "Trabajos en cola",
    "Chaos drills": "Simulacros de caos",
    "Forced by staff": "Forzado por el equipo",
    "Since ": "Desde ",
    "(0 minutes ago)": "(hace 0 minutos)",
    "Why:": "Por qué:",
    "(by staff)": "(por el equipo)",
    "Force level": "Forzar nivel",
    "Evaluate now": "Evaluar ahora",
    "Release the forced level": "Liberar el nivel forzado",
    "Stop the drill": "Detener el simulacro",
    "Start a chaos drill": "Iniciar un simulacro de caos",
    "AI providers, last 24 hours": "Proveedores de IA, últimas 24 horas",
    "Home": "Inicio",
    "Resilience": "Resiliencia",
    "Service status": "Estado del servicio",
}
JOBS_TEXTS = {
    "Job type": "Tipo de trabajo",
    "Dependency": "Dependencia",
    "Next attempt": "Próximo intento",
    "Updated at": "Actualizado",
    "Retry now": "Reintentar ahora",
    "Requeue dead jobs": "Volver a encolar los trabajos muertos",
    "Attempts": "Intentos",
    " dead ": " muerto ",
    "Queued jobs": "Trabajos en cola",
}
AI_LOG_TEXTS = {
    "Last 24 hours": "Últimas 24 horas",
    "Requests": "Peticiones",
    "Created at": "Creado",
    "Latency ms": "Latencia (ms)",
    "Fallback used": "Respaldo usado",
    "AI request log": "Registro de peticiones de IA",
}
BRAND = {"en": "ÍTERA PressKit · Administration", "es": "ÍTERA PressKit · Administración"}


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, tags or attributes (ids and classes are in English)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


def read(client, url: str, **headers: str) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    return visible_text(response.content.decode())


def assert_speaks(page: str, texts: dict[str, str], language: str) -> None:
    shown, other = (1, 0) if language == "es" else (0, 1)
    for pair in texts.items():
        assert pair[shown] in page, pair[shown]
        assert pair[other] not in page, pair[other]


@pytest.fixture
def busy_service(fresh_breaker_registry) -> None:
    """Everything the pages can say: a forced level and its change, a breaker forced open, a drill
    running, a dead job, an AI request."""
    degradation.reset_manager()
    degradation_force(level=Level.LIMITED, reason="mantenimiento")
    get_breaker("storage").force_open("mantenimiento")
    chaos_start(provider="local", seconds=60, started_by="ana")
    QueuedJob.objects.create(job_type="test.language", payload={}, dependency="test-dep", idempotency_key="lang-1",
                             status=QueuedJob.Status.DEAD, attempts=3, max_attempts=3)
    ai_log_write(requests=[request_record()], recoveries=[])
    yield
    degradation.reset_manager()


def test_the_admin_is_branded_in_spanish_by_default_and_in_english_on_request(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert '<html lang="es"' in page
    assert f'<div id="site-name"><a href="/admin/">{BRAND["es"]}</a></div>' in page
    assert f"<title>Panel del equipo | {BRAND['es']}</title>" in page
    assert "Django" not in visible_text(page)

    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en"' in page and BRAND["en"] in page and "Staff panel" in page
    assert "Django" not in visible_text(page)


@pytest.mark.usefixtures("busy_service")
@pytest.mark.parametrize("language", ["es", "en"])
def test_the_dashboard_speaks_one_language(admin_client, language):
    page = read(admin_client, DASHBOARD, HTTP_ACCEPT_LANGUAGE=language)
    assert_speaks(page, DASHBOARD_TEXTS, language)
    assert BRAND[language] in page
    live = read(admin_client, f"{DASHBOARD}live/", HTTP_ACCEPT_LANGUAGE=language)
    assert_speaks(live, {key: DASHBOARD_TEXTS[key] for key in ("Recent level changes", "Circuit breakers", "Since ",
                                                                "(0 minutes ago)", "(by staff)")}, language)


def test_the_language_cookie_chooses_english(admin_client, busy_service):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert_speaks(read(admin_client, DASHBOARD), DASHBOARD_TEXTS, "en")


@pytest.mark.usefixtures("busy_service")
@pytest.mark.parametrize("language", ["es", "en"])
def test_the_changelists_speak_one_language(admin_client, language):
    assert_speaks(read(admin_client, JOBS, HTTP_ACCEPT_LANGUAGE=language), JOBS_TEXTS, language)
    assert_speaks(read(admin_client, AI_LOG, HTTP_ACCEPT_LANGUAGE=language), AI_LOG_TEXTS, language)
    breakers = read(admin_client, "/admin/resilience/circuitbreakerentry/", HTTP_ACCEPT_LANGUAGE=language)
    assert_speaks(breakers, {"Force open": "Forzar abierto", "Not counted": "No contadas",
                             "Circuit breakers": "Disyuntores"}, language)


def test_staff_messages_speak_the_language_of_the_request(admin_client, fresh_breaker_registry):
    degradation.reset_manager()
    form = {"level": int(Level.MINIMAL), "reason": "migración"}
    response = admin_client.post(f"{DASHBOARD}act/force/", form, follow=True)
    assert "Nivel forzado: optimal → minimal. Se mantiene hasta que se libere." in visible_text(
        response.content.decode())
    response = admin_client.post(f"{DASHBOARD}act/release/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "Forced level released (minimal → optimal)" in visible_text(response.content.decode())
    response = admin_client.post(f"{DASHBOARD}act/force/", {"level": "9", "reason": "x"}, follow=True)
    assert "No se ha forzado ningún nivel: Forzar nivel: " in visible_text(response.content.decode())


def test_the_presskit_admin_and_its_takedown_form_speak_spanish(admin_client):
    session = chat_services.chat_session_create(language="es")
    listing = read(admin_client, PRESSKITS)
    for spanish in ("Por publicación", "Pública", "No pública", "Retirada", "Página pública", "Versión pública",
                    "Retirar la página pública (abuso), con un motivo"):
        assert spanish in listing, spanish
    assert "Take down" not in listing and "Public" not in listing

    form = {"action": "take_down", "_selected_action": [str(session.presskit_id)]}
    asked = visible_text(admin_client.post(PRESSKITS, form).content.decode())
    assert "Retirar páginas públicas" in asked and "Motivo" in asked and "Cancelar" in asked
    assert "no lo ven los programadores" in asked
    assert "Reason" not in asked and "Cancel " not in asked and "Take down" not in asked


def test_the_compiled_catalogue_is_the_one_the_po_file_gives(tmp_path):
    """Every text is translated, and the committed .mo was compiled from the .po as it is now."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt (gettext) is needed to check the catalogue"
    compiled = tmp_path / "django.mo"
    result = subprocess.run([msgfmt, "--check-format", "--statistics", "-o", str(compiled),
                             str(CATALOGUE / "django.po")], capture_output=True, text=True, check=True)
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    with compiled.open("rb") as fresh, (CATALOGUE / "django.mo").open("rb") as committed:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh)._catalog
