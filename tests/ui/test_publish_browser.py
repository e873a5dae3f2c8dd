"""Publishing in a real browser against a real Daphne: an artist finishes the chat, edits a field,
publishes, opens the public page (axe-core clean, phone and desktop), downloads the PDF and the
JSON, and opens the private edit link in a second browser to edit from there. Screenshots of the
public page and the PDF's first page land in test-artifacts/."""
from __future__ import annotations

import io
import json

import pypdfium2
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.servers import database_url_of_test_db, server_environment, start_daphne
from tests.ui.test_chat_browser import ARTIFACTS, send, shoot

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

ANSWERS = ["Luna Roja", "house, techno melódico", "desde 2014", "Madrid; salas y festivales de España",
           "Empecé pinchando los vinilos de mi padre en Vallecas y hoy toco en festivales.",
           "@lunaroja soundcloud.com/lunaroja", "booking@lunaroja.com"]


def edit_in_review(page: Page, step: int, label: str, value: str) -> None:
    """Change an answer in place in the review: the box comes prefilled with the current value."""
    page.locator(f"summary[aria-label='Editar {label}']").click()
    box = page.locator(f"#set-{step}")
    expect(box).not_to_have_value("")
    box.fill(value)
    page.locator(f"#set-{step} ~ button").click()
    expect(page.locator("#draft")).to_contain_text(value)


def axe_violations(page: Page) -> list[str]:
    results = Axe().run(page)
    return [f"{violation['id']}: {violation['help']}" for violation in results.response["violations"]]


def test_an_artist_publishes_shares_and_edits_from_another_browser(transactional_db, browser_page: Page):
    server, base_url = start_daphne(server_environment(DATABASE_URL=database_url_of_test_db(),
                                                      CHAT_TEMPLATE_TOKEN_DELAY="0.002"))
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    try:
        page.goto(base_url + "/")
        expect(page.locator("#connection")).to_have_text("Conexión estable")
        for text in ANSWERS[:-1]:
            send(page, text)
        page.fill("#message", ANSWERS[-1])  # the last answer brings two replies: the bio follows
        page.keyboard.press("Enter")
        expect(page.locator("#progress")).to_contain_text("Presskit completo")
        # The box says what the artist can do now, not "Escribe tu respuesta…".
        expect(page.locator("#message")).to_have_attribute(
            "placeholder", "Tu presskit está completo: cambia cualquier respuesta desde el panel o publícalo.")
        expect(page.locator("#bios")).to_be_visible()

        expect(page.locator("#set-4")).to_have_value("Madrid; salas y festivales de España")
        edit_in_review(page, 4, "Base y escenarios", "Barcelona; clubs de toda Europa")

        page.get_by_role("button", name="Publicar").click()
        link = page.locator("#public-link")
        expect(link).to_contain_text("/p/luna-roja-")
        public_path = link.get_attribute("href")
        expect(page.locator("#private-link")).to_contain_text("Quien tenga este enlace puede editar tu presskit")
        edit_path = page.locator("#private-link-url").get_attribute("href")
        page.get_by_role("button", name="Copiar enlace", exact=True).click()
        assert page.evaluate("navigator.clipboard.readText()") == base_url + public_path
        listing = page.get_by_role("button", name="Mostrar en buscadores")  # public, unlisted so far
        assert listing.bounding_box()["height"] >= 44  # a finger's target
        listing.click()
        expect(page.locator("#publish")).to_contain_text("Buscadores: sí.")

        public = page.context.new_page()
        public.goto(base_url + public_path)
        expect(public.locator("h1")).to_have_text("Luna Roja")
        expect(public.locator("meta[name=robots]")).to_have_count(0)  # listed
        expect(public.get_by_role("link", name="booking@lunaroja.com").first).to_have_attribute(
            "href", "mailto:booking@lunaroja.com")
        expect(public.get_by_role("link", name="Instagram de Luna Roja (se abre el sitio de Instagram)")).to_be_visible()
        assert axe_violations(public) == []
        public.set_viewport_size({"width": 390, "height": 844})
        shoot(public, "public-page-phone")
        assert axe_violations(public) == []
        public.set_viewport_size({"width": 1280, "height": 900})
        shoot(public, "public-page-desktop")

        pdf = public.request.get(base_url + public_path.rstrip("/") + ".pdf")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        document = pypdfium2.PdfDocument(io.BytesIO(pdf.body()))
        ARTIFACTS.mkdir(exist_ok=True)
        document[0].render(scale=1.5).to_pil().save(ARTIFACTS / "public-pdf-page-1.png")
        data = public.request.get(base_url + public_path.rstrip("/") + ".json")
        assert data.ok and json.loads(data.body())["artist"]["location"] == "Barcelona; clubs de toda Europa"

        # Another device: the private link binds it to the same presskit, and it can edit.
        with page.context.browser.new_context(locale="es-ES") as phone_context:
            phone = phone_context.new_page()
            phone.goto(base_url + edit_path)
            expect(phone).to_have_url(base_url + "/")
            expect(phone.locator("#connection")).to_have_text("Conexión estable")
            expect(phone.locator("#progress")).to_contain_text("Presskit completo")
            edit_in_review(phone, 1, "Nombre artístico", "Luna Llena")
            phone.get_by_role("button", name="Publicar cambios").click()
            expect(phone.locator("#publish")).to_contain_text("versión 2")
        public.reload()
        expect(public.locator("h1")).to_have_text("Luna Llena")
        expect(page.locator("#draft")).to_contain_text("Luna Llena")  # the first browser's open page too
    finally:
        server.stop()
