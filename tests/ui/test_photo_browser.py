"""The press photo in a real browser against a real Daphne: chosen in the draft panel, sent by
htmx as multipart, and drawn from the photo storage."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.presskit.images import png_bytes
from tests.servers import database_url_of_test_db, server_environment, start_daphne

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]


def test_an_artist_uploads_a_press_photo_and_sees_it(transactional_db, browser_page: Page, tmp_path):
    server, base_url = start_daphne(server_environment(
        DATABASE_URL=database_url_of_test_db(),
        PHOTO_STAGING_DIR=str(tmp_path / "uploads"),
        PHOTO_STORAGE_OPTIONS=json.dumps({"location": str(tmp_path / "photos"), "base_url": "/media/photos/"}),
    ))
    page = browser_page
    try:
        page.goto(base_url + "/")
        expect(page.locator("#connection")).to_have_text("Conexión estable")
        expect(page.locator("#photo")).to_contain_text("Aún no has subido ninguna foto.")
        # One answer first: the draft (and this panel) is then re-rendered over the socket, with
        # no CSRF field of its own: the page's token goes in the header.
        page.fill("#message", "Luna Roja")
        page.keyboard.press("Enter")
        expect(page.locator("#progress")).to_contain_text("Paso 2 de 7")
        assert page.locator("#photo input[name=csrfmiddlewaretoken]").count() == 0

        page.set_input_files("#photo-file", files=[{"name": "foto.jpg", "mimeType": "image/jpeg",
                                                    "buffer": b"not really a photo"}])
        page.get_by_role("button", name="Subir foto").click()
        expect(page.locator("#photo [role=alert]")).to_contain_text("no es una foto JPEG, PNG o WebP")

        page.set_input_files("#photo-file", files=[{"name": "retrato.png", "mimeType": "image/png",
                                                    "buffer": png_bytes(width=40, height=30)}])
        page.get_by_role("button", name="Subir foto").click()
        expect(page.locator("#photo")).to_contain_text("Foto guardada.")
        image = page.locator("#photo img")
        expect(image).to_be_visible()
        assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 40  # really served
        assert page.url == base_url + "/"  # htmx swapped the panel: no page load
        assert len(list((tmp_path / "photos").rglob("*.png"))) == 1
    finally:
        server.stop()
