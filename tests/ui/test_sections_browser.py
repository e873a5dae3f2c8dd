"""The optional sections in a real browser (Debian's Chromium), on a phone and a laptop: once the
seven steps are done the assistant offers them under the box; the artist adds a date and a press
quote and says who they sound like, takes a date out in the panel, uploads two press photos with
their credits, makes the second the cover and credits it, publishes, and the public page shows
every section, each photo downloadable at full resolution. axe-core finds nothing serious;
screenshots land in test-artifacts/."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.presskit.images import jpeg_bytes, png_bytes
from tests.ui.test_chat_browser import send, shoot
from tests.ui.test_experience_browser import serious_violations
from tests.ui.test_publish_browser import ANSWERS
from tests.ui.test_states_axe_browser import draft_open

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]


def start(page: Page, chip: str) -> None:
    replies = page.locator("#messages .msg--assistant").count()
    page.locator("#composer-help .chip", has_text=chip).click()
    expect(page.locator("#messages .msg--assistant")).to_have_count(replies + 1)


def test_an_artist_adds_the_optional_sections_and_the_page_shows_them(daphne, sized_page):
    page, viewport = sized_page
    page.goto(daphne + "/")
    expect(page.locator("#connection")).to_have_text("Conexión estable")
    for text in ANSWERS[:-1]:
        send(page, text)
    page.fill("#message", ANSWERS[-1])
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_contain_text("Presskit completo")
    expect(page.locator("#stream .msg")).to_have_count(0)  # the bio has come too

    start(page, "Fechas")
    expect(page.locator("#composer-hint")).to_contain_text("Ej.: 14/02/2027")
    send(page, "14/02/2099, Sala Apolo, Barcelona, https://entradas.example/apolo")
    send(page, "01/03/2099, Fabrik, Madrid")
    expect(page.locator("#messages .msg--assistant").last).to_contain_text("¿Otra fecha?")
    send(page, "listo")
    start(page, "Citas de prensa")
    send(page, "«Una sesión hipnótica» — Mixmag")
    send(page, "listo")
    start(page, "Suena a")
    send(page, "Bicep, Four Tet")
    expect(page.locator("#messages .msg--assistant").last).to_contain_text("Anotado: suenas a Bicep, Four Tet.")
    shoot(page, f"sections-{viewport}-chat")

    draft_open(page)
    dates = page.locator("#sections [data-section=dates]")
    expect(dates).to_contain_text("Fabrik")
    dates.get_by_role("button", name="Quitar: 01/03/2099 · Fabrik, Madrid").click()
    expect(dates).not_to_contain_text("Fabrik")

    photos = page.locator("#photo")
    page.set_input_files("#photo-file", files=[{"name": "directo.png", "mimeType": "image/png",
                                                "buffer": png_bytes(width=60, height=40)}])
    page.fill("#photo-new-credit", "Ana <b>Pérez</b>")
    page.get_by_role("button", name="Subir foto").click()
    expect(photos).to_contain_text("1 de 8 fotos")
    page.set_input_files("#photo-file", files=[{"name": "retrato.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}])
    page.get_by_role("button", name="Añadir otra foto").click()
    expect(photos).to_contain_text("2 de 8 fotos")
    page.get_by_role("button", name="Mover la foto 2 antes").click()  # over the socket
    expect(photos.get_by_label("Crédito de la foto 2")).to_have_value("Ana <b>Pérez</b>")
    photos.get_by_label("Crédito de la foto 1").fill("Juan Gil")
    photos.locator(".photo__item").first.get_by_role("button", name="Guardar crédito").click()
    expect(photos.locator(".photo__item").first.locator(".photo__cover")).to_have_text("Portada")
    assert serious_violations(page) == []
    shoot(page, f"sections-{viewport}-panel")

    page.get_by_role("button", name="Publicar").click()
    public_path = page.locator("#public-link").get_attribute("href")
    public = page.context.new_page()
    public.goto(daphne + public_path)
    expect(public.get_by_text("Bicep, Four Tet")).to_be_visible()
    expect(public.locator("main")).to_contain_text("Sala Apolo")
    expect(public.locator("main")).not_to_contain_text("Fabrik")
    expect(public.locator("blockquote")).to_contain_text("Una sesión hipnótica")
    gallery = public.locator(".epk__photos figcaption")
    expect(gallery).to_have_text(["Foto: Juan Gil", "Foto: Ana <b>Pérez</b>"])  # in the order chosen, escaped
    with public.expect_download() as download:
        public.get_by_role("link", name="Descargar la foto 2 en alta resolución").click()
    assert download.value.suggested_filename.endswith("-foto-prensa-2.png")
    assert serious_violations(public) == []
    shoot(public, f"sections-{viewport}-public")
