"""The tech rider as an uploaded PDF: taken from the panel once the seven steps are done, only
into the browser's own chat, checked as a real PDF and size-limited, kept under a random name,
frozen with each published version and downloaded from the public page as an attachment."""
from __future__ import annotations

import io
import re
from html import unescape

import pypdf
import pypdfium2 as pdfium
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat import services
from chat.models import COMPLETE_STEP, ChatSession

from presskit.models import Presskit
from presskit.services import presskit_publish
from resilience.degradation import Level, degradation_force, degradation_release
from tests.presskit.conftest import HTMX, Browser, open_chat
from tests.presskit.images import png_bytes

pytestmark = pytest.mark.django_db(transaction=True)

FILENAME = "mi-rider-secreto.pdf"


def pdf_bytes(pages: int = 1) -> bytes:
    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(595, 842)
    out = io.BytesIO()
    document.save(out)
    document.close()
    return out.getvalue()


def encrypted(content: bytes) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(content)))
    writer.encrypt(user_password="clave", owner_password="dueño", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text(response) -> str:
    return unescape(response.content.decode())


def upload(browser: Browser, data: bytes, *, htmx: bool = True, chat_id: str | None = None, name: str = FILENAME):
    form = {"session": chat_id or browser.chat_id,
            "rider": SimpleUploadedFile(name, data, content_type="application/pdf")}
    return browser.client.post("/rider", form, headers=HTMX if htmx else {})


@pytest.fixture
def exports(settings, tmp_path):
    location = tmp_path / "exports"
    settings.STORAGES = {**settings.STORAGES, "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}}}
    return location


def stored(exports) -> list[str]:
    """The rider PDFs kept (the one-sheets and snapshots live beside them)."""
    return sorted(str(path.relative_to(exports)) for path in (exports / "riders").rglob("*.pdf"))


def finish(browser: Browser) -> Presskit:
    """The chat stored and its seven steps done, as the last answer leaves it."""
    session = services.chat_session_ensure(session_id=browser.chat_id, language="es")
    ChatSession.objects.filter(pk=session.pk).update(current_step=COMPLETE_STEP)
    Presskit.objects.filter(pk=session.presskit_id).update(
        artist_name="Luna Roja", genres=["house"], booking_email="b@luna.es", short_bio="Luna Roja es DJ.",
        bio_source="template")
    return Presskit.objects.get(pk=session.presskit_id)


@pytest.fixture
def done(browser, exports) -> Browser:
    finish(browser)
    return browser


def test_a_pdf_is_stored_under_a_random_name_and_the_panel_shows_it(done, exports):
    content = pdf_bytes(2)
    response = upload(done, content)
    assert response.status_code == 200
    panel = text(response)
    assert panel.lstrip().startswith('<div id="rider-pdf"') and "Rider en PDF guardado." in panel
    assert "Rider en PDF subido." in panel and "Cambiar el PDF" in panel
    assert 'name="section" value="rider_pdf"' in panel  # its "Quitar"
    name = done.presskit.rider_pdf_name
    assert re.fullmatch(r"riders/draft/[0-9a-f]{32}\.pdf", name)
    assert stored(exports) == [name] and (exports / name).read_bytes() == content
    assert FILENAME not in panel and FILENAME not in name

    page = text(done.client.get("/"))  # the page's rider group has it too
    group = page[page.index('data-section="rider"'):page.index("</section>", page.index('data-section="rider"'))]
    assert 'id="rider-file"' in group and 'accept="application/pdf"' in group and "Rider en PDF subido." in group


def test_without_javascript_the_form_posts_and_the_page_says_it_once(done):
    response = upload(done, pdf_bytes(), htmx=False)
    assert response.status_code == 302 and response["Location"].endswith("/#rider-pdf")
    assert "Rider en PDF guardado." in text(done.client.get("/"))
    assert "Rider en PDF guardado." not in text(done.client.get("/"))
    refused = upload(done, b"GIF89a", htmx=False)
    page = text(refused)
    assert refused.status_code == 400 and "Ese archivo no es un PDF." in page[page.index('id="rider-pdf"'):]


def test_the_panel_has_the_picker_once_the_seven_steps_are_done(done):
    page = text(done.client.get("/"))
    form = page[page.index('id="rider-pdf"'):page.index("</div>", page.index('id="rider-pdf"'))]
    assert 'action="/rider"' in form and 'enctype="multipart/form-data"' in form and 'hx-target="#rider-pdf"' in form
    assert 'name="csrfmiddlewaretoken"' in form and f'value="{done.chat_id}"' in form
    assert '<label for="rider-file" class="button button--quiet photo__label">Elige un PDF</label>' in form
    assert "Tu rider en PDF, hasta 5 MB y 50 páginas." in form


def truncated() -> bytes:
    content = pdf_bytes(3)
    return content[:len(content) // 2]


@pytest.mark.parametrize(("data", "message"), [
    (png_bytes(), "Ese archivo no es un PDF."),  # sent as mi-rider-secreto.pdf, application/pdf
    (truncated(), "el archivo está dañado o incompleto"),
    (encrypted(pdf_bytes()), "protegido con contraseña o cifrado"),
    (pdf_bytes(51), "entre 1 y 50 páginas"),
    (b"%PDF-1.7\nnothing else", "el archivo está dañado o incompleto"),
    (b"", "No has elegido ningún PDF"),
])
def test_what_is_not_a_pdf_we_take_is_refused_with_its_reason(done, exports, data, message):
    response = upload(done, data)
    assert response.status_code == 400 and message in text(response)
    assert done.presskit.rider_pdf_name == "" and stored(exports) == []


def test_a_pdf_over_the_limit_is_dropped_while_read(settings, done, exports):
    settings.RIDER_MAX_MB = 1
    response = upload(done, pdf_bytes() + b"%" + b"0" * (1024 * 1024))
    assert response.status_code == 400 and "El PDF pesa más de 1 MB." in text(response)
    assert done.presskit.rider_pdf_name == "" and stored(exports) == []


def test_before_the_seventh_answer_it_is_refused(browser, exports):
    response = upload(browser, pdf_bytes())  # the chat not even stored yet
    assert response.status_code == 400 and "cuando hayas terminado los siete pasos" in text(response)
    session = services.chat_session_ensure(session_id=browser.chat_id, language="es")
    response = upload(browser, pdf_bytes(), htmx=False)  # stored, six steps to go
    assert response.status_code == 400 and "cuando hayas terminado los siete pasos" in text(response)
    assert Presskit.objects.get(pk=session.presskit_id).rider_pdf_name == "" and stored(exports) == []


def test_another_browser_cannot_upload_to_this_chat(done, exports):
    other = open_chat(Client())
    response = upload(other, pdf_bytes(), chat_id=done.chat_id)
    assert response.status_code == 403 and "Esta conversación no es tuya" in text(response)
    response = upload(other, pdf_bytes(), chat_id=done.chat_id, htmx=False)
    assert response.status_code == 403 and "Volver a tu chat" in text(response)
    assert done.presskit.rider_pdf_name == "" and stored(exports) == []


def test_the_upload_is_csrf_protected(exports, transactional_db):
    browser = open_chat(Client(enforce_csrf_checks=True))
    finish(browser)
    assert upload(browser, pdf_bytes()).status_code == 403
    assert browser.presskit.rider_pdf_name == "" and stored(exports) == []
    token = browser.client.cookies["csrftoken"].value
    form = {"session": browser.chat_id, "rider": SimpleUploadedFile(FILENAME, pdf_bytes(), "application/pdf"),
            "csrfmiddlewaretoken": token}
    assert browser.client.post("/rider", form, headers=HTMX).status_code == 200


def test_at_minimal_nothing_is_taken(done, exports):
    degradation_force(level=Level.MINIMAL, reason="database failover")
    try:
        response = upload(done, pdf_bytes())
    finally:
        degradation_release(reason="database back")
    assert response.status_code == 503 and "Ahora mismo no podemos recibir archivos." in text(response)
    assert done.presskit.rider_pdf_name == "" and stored(exports) == []


def test_a_new_pdf_replaces_the_draft_one_and_quitar_takes_it_out(done, exports):
    upload(done, pdf_bytes(1))
    first = done.presskit.rider_pdf_name
    upload(done, pdf_bytes(2))
    second = done.presskit.rider_pdf_name
    assert second != first and stored(exports) == [second]

    page = done.client.post("/", {"action": "remove", "section": "rider_pdf", "item": ""})
    assert page.status_code in (200, 302)
    assert done.presskit.rider_pdf_name == "" and stored(exports) == []


def publish(browser: Browser) -> str:
    presskit_publish(presskit_id=str(browser.presskit.pk), language="es")
    return browser.presskit.slug


def test_the_public_download_is_an_attachment_of_the_published_version(done, exports):
    content = pdf_bytes(2)
    upload(done, content)
    slug = publish(done)
    public = Client(HTTP_HOST="localhost")
    page = text(public.get(f"/p/{slug}/"))
    assert f'href="/p/{slug}/rider.pdf"' in page and "Descargar rider (PDF)" in page
    assert "Ver el rider técnico" not in page  # no rider text: only the download

    response = public.get(f"/p/{slug}/rider.pdf")
    assert response.status_code == 200 and response.content == content
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{slug}-rider.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"

    document = public.get(f"/p/{slug}.json").json()
    assert document["rider"] == {"text": "", "pdf": f"/p/{slug}/rider.pdf"}
    one_sheet = pypdf.PdfReader(io.BytesIO(public.get(f"/p/{slug}.pdf").content))
    assert f"/p/{slug}/rider.pdf" in "".join(page.extract_text() for page in one_sheet.pages)
    # The artist's filename is used nowhere: not in storage, headers, page, JSON or database.
    seen = [page, response["Content-Disposition"], str(document), *stored(exports), done.presskit.rider_pdf_name]
    assert not any(FILENAME in where or "secreto" in where for where in seen)


def test_a_rider_text_and_its_pdf_show_together(done, exports):
    Presskit.objects.filter(pk=done.presskit.pk).update(rider_text="2 CDJ-3000\nDJM-900")
    upload(done, pdf_bytes())
    page = text(Client(HTTP_HOST="localhost").get(f"/p/{publish(done)}/"))
    assert "Ver el rider técnico" in page and "Descargar rider (PDF)" in page


def test_no_pdf_unpublished_or_another_presskit_is_not_found(done, exports):
    upload(done, pdf_bytes())
    public = Client(HTTP_HOST="localhost")
    assert public.get("/p/nadie/rider.pdf").status_code == 404
    other = open_chat(Client())
    finish(other)
    Presskit.objects.filter(pk=other.presskit.pk).update(artist_name="Sol Verde")
    other_slug = publish(other)  # published, without a rider PDF
    assert public.get(f"/p/{other_slug}/rider.pdf").status_code == 404
    assert "Descargar rider (PDF)" not in text(public.get(f"/p/{other_slug}/"))
    assert "rider" not in str(public.get(f"/p/{other_slug}.json").json()["rider"]["pdf"])

    slug = publish(done)
    assert public.get(f"/p/{slug}/rider.pdf").status_code == 200
    services.presskit_unpublish_from_chat(session_id=done.chat_id)
    assert public.get(f"/p/{slug}/rider.pdf").status_code == 404


def test_a_replaced_rider_changes_the_public_one_only_when_republished(done, exports):
    first, second = pdf_bytes(1), pdf_bytes(3)
    upload(done, first)
    slug = publish(done)
    public = Client(HTTP_HOST="localhost")
    assert "Tienes cambios sin publicar." not in text(done.client.get("/"))
    upload(done, second)
    assert "Tienes cambios sin publicar." in text(done.client.get("/"))  # the same address, another file
    assert public.get(f"/p/{slug}/rider.pdf").content == first
    done.client.post("/", {"action": "remove", "section": "rider_pdf", "item": ""})
    assert public.get(f"/p/{slug}/rider.pdf").content == first  # taking it out of the draft neither

    upload(done, second)
    publish(done)
    assert public.get(f"/p/{slug}/rider.pdf").content == second
    assert sorted(stored(exports)) == sorted([done.presskit.rider_pdf_name, f"riders/{slug}-v1.pdf",
                                              f"riders/{slug}-v2.pdf"])


def test_english_texts_are_available(exports, transactional_db):
    browser = open_chat(Client(HTTP_ACCEPT_LANGUAGE="en"))
    finish(browser)
    ChatSession.objects.filter(pk=browser.chat_id).update(language="en")
    response = upload(browser, b"not a pdf")
    assert response.status_code == 400 and "That file is not a PDF." in text(response)
    assert "Your rider as a PDF, up to 5 MB and 50 pages." in text(response)


def test_a_restart_takes_the_rider_pdf_out_with_the_other_sections(done, exports):
    upload(done, pdf_bytes(1))
    assert done.client.post("/", {"action": "restart"}).status_code in (200, 302)
    assert done.presskit.rider_pdf_name == "" and stored(exports) == []


def test_a_rider_file_gone_from_the_storage_is_left_out_never_a_failed_publish(done, exports):
    upload(done, pdf_bytes(1))
    (exports / done.presskit.rider_pdf_name).unlink()
    slug = publish(done)
    assert Client(HTTP_HOST="localhost").get(f"/p/{slug}.json").json()["rider"]["pdf"] is None
    assert Client(HTTP_HOST="localhost").get(f"/p/{slug}/rider.pdf").status_code == 404
