"""The press photos from the chat page's draft panel, over HTTP: with htmx and without
JavaScript, decoded and encoded again, refused clearly, only into the browser's own chat, and
served back from the photo storage."""
from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.models import ChatSession
from resilience.models import QueuedJob
from tests.presskit.conftest import HTMX, open_chat
from tests.presskit.images import jpeg_bytes, padded_png, png_bytes, webp_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def text(response) -> str:
    return unescape(response.content.decode())


def photo_src(html: str) -> str:
    return unescape(re.search(r'<img class="photo__image" src="([^"]+)"', html).group(1))


def assert_nothing_saved(browser, places) -> None:
    chat = ChatSession.objects.select_related("presskit").filter(pk=browser.chat_id).first()
    assert chat is None or not chat.presskit.photos.exists()
    assert places.staged_files() == [] and places.stored_files() == []
    assert not QueuedJob.objects.exists()


def test_the_page_has_the_photo_panel_with_a_multipart_csrf_form(browser):
    page = text(browser.client.get("/"))
    panel = page[page.index('id="photo"'):page.index("</section>", page.index('id="photo"'))]
    assert "Fotos de prensa" in panel and "Aún no has subido ninguna foto." in panel
    assert 'enctype="multipart/form-data"' in panel and 'hx-encoding="multipart/form-data"' in panel
    assert 'name="csrfmiddlewaretoken"' in panel and f'value="{browser.chat_id}"' in panel
    assert "JPEG, PNG o WebP, hasta 8 MB. Hasta 8 fotos; la primera es la de portada." in panel
    assert 'name="credit"' in panel and "Crédito (fotógrafo/a)" in panel


def test_with_htmx_the_photo_is_stored_and_the_panel_shows_it(browser, places, png):
    response = browser.upload(png, htmx=True)
    assert response.status_code == 200
    panel = text(response)
    assert panel.lstrip().startswith("<section id=\"photo\"") and "Foto guardada." in panel
    presskit, photo = browser.presskit, browser.photo
    assert photo.name == f"presskits/{presskit.pk}/{photo.name.rsplit('/', 1)[1]}"
    assert photo.name.endswith(".png") and photo.staged == "" and photo.position == 0
    assert places.staged_files() == []  # the staged copy is gone once stored
    assert [path.read_bytes() for path in places.stored_files()] == [png]
    served = browser.client.get(photo_src(panel))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served) == png and served["X-Content-Type-Options"] == "nosniff"
    assert QueuedJob.objects.get().status == "done"  # the same path a queued copy takes


def test_without_javascript_the_form_posts_and_the_page_says_it_once(browser, png):
    response = browser.upload(jpeg_bytes(), name="retrato.jpeg", content_type="image/jpeg")
    assert response.status_code == 302 and response["Location"] == "/#photo"
    page = text(browser.client.get("/"))
    assert "Foto guardada." in page and photo_src(page).endswith(".jpg")
    assert "Añadir otra foto" in page and "1 de 8 fotos" in page
    assert "Foto guardada." not in text(browser.client.get("/"))  # shown once


def test_a_new_photo_is_added_after_the_others_with_its_credit(browser, places, png):
    browser.upload(png, htmx=True, credit="Ana Pérez")
    panel = text(browser.upload(webp_bytes(), name="nueva.webp", content_type="image/webp", htmx=True,
                                credit="  Juan\tGil \u202e "))
    first, second = browser.photos
    assert (first.credit, second.credit) == ("Ana Pérez", "Juan Gil")  # on one line, hidden characters dropped
    assert second.name.endswith(".webp") and (first.position, second.position) == (0, 1)
    assert len(places.stored_files()) == 2  # the first one kept
    assert panel.index('value="Ana Pérez"') < panel.index('value="Juan Gil"') and "2 de 8 fotos" in panel
    assert panel.count("Portada") == 1


def test_a_presskit_holds_at_most_its_limit_of_photos(settings, browser, places, png):
    settings.PHOTOS_PER_PRESSKIT = 2
    browser.upload(png, htmx=True)
    panel = text(browser.upload(png, htmx=True))
    assert "Ya tienes 2 fotos, el máximo. Quita una para subir otra." in panel and 'type="file"' not in panel
    response = browser.upload(webp_bytes(), name="otra.webp", content_type="image/webp", htmx=True)
    assert response.status_code == 400
    assert "Ya tienes 2 fotos, el máximo. No se ha guardado nada" in text(response)
    assert len(browser.photos) == 2 and len(places.stored_files()) == 2 and places.staged_files() == []


def test_a_credit_too_long_is_refused_before_the_photo_is_read(browser, places, png):
    response = browser.upload(png, htmx=True, credit="x" * 121)
    assert response.status_code == 400
    assert "El crédito puede tener hasta 120 caracteres. No se ha guardado nada" in text(response)
    assert_nothing_saved(browser, places)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
@pytest.mark.parametrize(("data", "name", "message"), [
    (b"GIF89a, or a text file, named like a photo", "foto.jpg", "Ese archivo no es una foto JPEG, PNG o WebP."),
    (b"", "foto.png", "No has elegido ninguna foto, o el archivo está vacío."),
    (padded_png(1025), "foto.png", "La foto pesa más de 1 MB."),
], ids=["not-an-image", "empty", "too-big"])
def test_a_bad_upload_is_refused_with_its_reason_and_nothing_is_saved(settings, browser, places, htmx, data,
                                                                      name, message):
    settings.PHOTO_MAX_BYTES = 1024
    response = browser.upload(data, name=name, content_type="image/jpeg", htmx=htmx)
    assert response.status_code == 400
    assert message in text(response) and "No se ha guardado nada" in text(response)
    if not htmx:
        assert 'id="chat-app"' in text(response)  # the whole page, with the message in the panel
    assert_nothing_saved(browser, places)


def test_a_post_without_a_file_is_refused(browser, places):
    response = browser.client.post("/photo", {"session": browser.chat_id}, headers=HTMX)
    assert response.status_code == 400 and "No has elegido ninguna foto" in text(response)
    assert_nothing_saved(browser, places)


def test_a_photo_of_the_full_limit_passes_and_one_byte_more_does_not(browser, places):
    # The real default limit (8 MB): Django's own upload settings let it through.
    assert browser.upload(padded_png(8 * 1024 * 1024), htmx=True).status_code == 200
    assert [path.read_bytes() for path in places.stored_files()] == [png_bytes()]  # encoded again: no padding
    response = browser.upload(padded_png(8 * 1024 * 1024 + 1), htmx=True)
    assert response.status_code == 400 and "La foto pesa más de 8 MB." in text(response)
    assert len(places.stored_files()) == 1


def test_another_browser_cannot_upload_to_this_chat(browser, places, png):
    intruder = open_chat(Client())  # owns a chat of its own, not this one
    for htmx in (True, False):
        response = intruder.upload(png, chat_id=browser.chat_id, htmx=htmx)
        assert response.status_code == 403
        assert "Esta conversación no es tuya" in text(response)
    stranger = Client()  # never opened the page: owns nothing
    assert stranger.post("/photo", {"photo": png}).status_code == 403
    assert_nothing_saved(browser, places)
    assert not ChatSession.objects.filter(pk=intruder.chat_id).exists()  # nothing stored for it either


def test_the_upload_is_csrf_protected(places, png, transactional_db):
    client = Client(enforce_csrf_checks=True)
    page = text(client.get("/"))
    browser = open_chat(client)
    assert browser.upload(png).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"session": browser.chat_id, "csrfmiddlewaretoken": token,
            "photo": SimpleUploadedFile("foto.png", png, content_type="image/png")}
    assert client.post("/photo", form).status_code == 302  # the no-JavaScript form
    form["photo"] = SimpleUploadedFile("foto.png", png, content_type="image/png")
    del form["csrfmiddlewaretoken"]
    assert client.post("/photo", form, headers={**HTMX, "X-CSRFToken": token}).status_code == 200  # htmx
    assert client.get("/photo").status_code == 405


@pytest.mark.parametrize("path", [
    "/media/photos/../secret_key",
    "/media/photos/presskits/00000000-0000-0000-0000-000000000000/0123456789abcdef0123456789abcdef.png",
    "/media/photos/presskits/x/..%2F..%2Fsecret_key",
    "/media/photos/notes.txt",
])
def test_only_stored_photos_are_served(client, places, path):
    assert client.get(path).status_code == 404


def test_english_texts_are_available(places, png, transactional_db):
    browser = open_chat(Client(HTTP_ACCEPT_LANGUAGE="en"))
    assert "Press photos" in text(browser.client.get("/"))
    assert "Photo saved." in text(browser.upload(png, htmx=True))
    assert "not a JPEG, PNG or WebP photo" in text(browser.upload(b"nope", htmx=True))
