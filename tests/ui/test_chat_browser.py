"""The chat in a real browser (Debian's Chromium driven by Playwright) against a real Daphne:
the htmx ws extension, the streamed fragments, chips, editing, escaping and reconnecting."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.servers import REPO, database_url_of_test_db, server_environment, start_daphne

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def server_env() -> dict[str, str]:
    return server_environment(DATABASE_URL=database_url_of_test_db(), CHAT_TEMPLATE_TOKEN_DELAY="0.005")


@pytest.fixture
def page(transactional_db, browser_page: Page) -> Page:
    """A phone-sized tab (the test database is set up first: see tests/ui/conftest.py)."""
    browser_page.set_viewport_size({"width": 390, "height": 844})
    return browser_page


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def send(page: Page, text: str) -> None:
    replies = page.locator("#messages .msg--assistant").count()
    page.fill("#message", text)
    page.keyboard.press("Enter")
    expect(page.locator("#messages .msg--assistant")).to_have_count(replies + 1)


def test_an_artist_chats_edits_and_stays_safe_in_a_real_browser(server_env, page):
    server, base_url = start_daphne(server_env)
    try:
        page.goto(base_url + "/")
        expect(page.locator("#connection")).to_have_text("Conexión estable")
        expect(page.locator("#progress")).to_contain_text("Paso 1 de 7")

        send(page, "Luna Roja")
        expect(page.locator("#progress")).to_contain_text("Paso 2 de 7")
        expect(page.locator("#message")).to_have_value("")  # cleared after sending

        page.get_by_role("button", name="House").click()
        page.get_by_role("button", name="Techno").click()
        expect(page.locator("#message")).to_have_value("House, Techno")
        page.get_by_role("button", name="Enviar").click()
        expect(page.locator("#progress")).to_contain_text("Paso 3 de 7")

        send(page, "mucho")  # invalid: asked again, same step
        expect(page.locator("#messages .msg--assistant").last).to_contain_text("No he encontrado una duración")
        expect(page.locator("#progress")).to_contain_text("Paso 3 de 7")
        send(page, "desde 2014")

        hostile = "<img src=x onerror=\"window.__xss=1\">Madrid"
        send(page, hostile)
        expect(page.locator("#messages .msg--user .msg__text").last).to_have_text(hostile)
        assert page.evaluate("window.__xss") is None
        shoot(page, "chat-step-5")

        # On a phone the draft panel is folded into its summary: one tap opens it.
        page.locator("#draft-panel > summary").filter(has_text="Tu presskit · 4 de 7").click()
        page.get_by_role("button", name="Editar Nombre artístico").click()
        expect(page.locator("#composer-help")).to_contain_text("Editando: Nombre artístico")
        expect(page.locator("#message")).to_have_value("Luna Roja")  # to change, not to retype
        send(page, "Luna Llena")
        expect(page.locator("#draft")).to_contain_text("Luna Llena")
        expect(page.locator("#progress")).to_contain_text("Paso 5 de 7")
        # The turn swapped the panel's steps, not the panel: it stays open, its summary and
        # restart button are current.
        expect(page.locator("#draft-panel")).to_have_attribute("open", "")
        expect(page.locator("#draft-panel > summary")).to_have_text("Tu presskit · 4 de 7")
        expect(page.get_by_role("button", name="Empezar de nuevo")).to_be_visible()
        shoot(page, "chat-after-edit")

        page.reload()
        expect(page.locator("#connection")).to_have_text("Conexión estable")
        expect(page.locator("#progress")).to_contain_text("Paso 5 de 7")
        expect(page.locator("#messages")).to_contain_text("Luna Llena")
    finally:
        server.stop()


def test_the_page_reconnects_by_itself_after_a_server_restart(server_env, page):
    server, base_url = start_daphne(server_env)
    port = int(base_url.rsplit(":", 1)[1])
    try:
        page.goto(base_url + "/")
        expect(page.locator("#connection")).to_have_text("Conexión estable")
        send(page, "Luna Roja")
        server.stop()
        expect(page.locator("#connection")).to_have_text("Conexión perdida. Reconectando…")
        page.fill("#message", "house")
        page.keyboard.press("Enter")  # refused while offline: the answer stays in the box
        expect(page.locator("#chat-error")).to_contain_text("Sin conexión")
        expect(page.locator("#message")).to_have_value("house")
        shoot(page, "chat-offline")

        server, _ = start_daphne(server_env, port=port)
        expect(page.locator("#connection")).to_have_text("Conexión estable", timeout=40_000)
        page.get_by_role("button", name="Enviar").click()
        expect(page.locator("#progress")).to_contain_text("Paso 3 de 7")
    finally:
        server.stop()


def test_a_message_refused_for_its_pace_comes_back_into_the_box(page):
    server, base_url = start_daphne(server_environment(DATABASE_URL=database_url_of_test_db(),
                                                       CHAT_TURN_LIMITS="1/minute"))
    try:
        page.goto(base_url + "/")
        expect(page.locator("#connection")).to_have_text("Conexión estable")
        send(page, "Luna Roja")
        page.fill("#message", "House, Techno")
        page.keyboard.press("Enter")
        expect(page.locator("#chat-error")).to_contain_text("Más despacio, por favor")
        expect(page.locator("#message")).to_have_value("House, Techno")  # not lost: send it again later
        expect(page.locator("#progress")).to_contain_text("Paso 2 de 7")
    finally:
        server.stop()
