"""Several press photos, each with its credit and place in the order: changed in the panel over
the socket (credit, earlier, later, remove) or by plain form posts; published as the page's
portrait and gallery with a full-resolution download each, in the JSON (schema 3), the PDF's
caption and the ZIP; credits escaped wherever they are shown; a change to a photo (or a rider
PDF replaced) marks the draft changed; the photo moved over from the one-photo draft."""
from __future__ import annotations

import json
import re
import uuid
from html import unescape

import jsonschema
import pypdfium2
import pytest
from asgiref.sync import sync_to_async
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from chat.models import ChatSession
from chat.steps import TOTAL_STEPS
from presskit.documents import json_schema
from presskit.models import Presskit, PresskitVersion, PressPhoto
from presskit.photos import photo_record, photo_storage, photo_store
from presskit.services import edit_link_create
from resilience.breakers import get_breaker
from tests.chat.test_consumer import SEVEN_ANSWERS
from tests.conftest import answer, error_text, make_artist
from tests.presskit.images import jpeg_bytes, png_bytes
from tests.presskit.test_public_snapshot import own_breakers, published  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)

CREDIT = 'Ana "<script>alert(1)</script>" Pérez'
ESCAPED = "Ana &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; Pérez"


def stored(content: bytes, extension: str = "png", presskit: str | None = None) -> str:
    """A photo in the photo storage under a name the app writes."""
    return photo_storage().save(f"presskits/{presskit or uuid.uuid4()}/{uuid.uuid4().hex}.{extension}",
                                ContentFile(content))


def public_get(path: str):
    return Client(HTTP_HOST="localhost").get(path)


def pdf_text(content: bytes) -> str:
    return "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(content))


@pytest.fixture
def two_photos(places) -> tuple[Presskit, list[bytes]]:
    """A presskit published with two photos: the first credited (hostile text), the second not."""
    contents = [png_bytes(40, 30), jpeg_bytes()]
    presskit = published("Luna Roja", photos=({"name": stored(contents[0]), "credit": CREDIT},
                                              {"name": stored(contents[1], "jpg"), "credit": ""}))
    return presskit, contents


def test_the_page_shows_every_photo_with_its_credit_and_a_download_each(two_photos):
    presskit, contents = two_photos
    slug = presskit.slug
    page = public_get(f"/p/{slug}/").content.decode()
    assert "<script>alert(1)" not in page and page.count(f"Foto: {ESCAPED}") == 2  # under the portrait, and in the gallery
    names = [photo.name for photo in presskit.photos.all()]
    portrait = re.search(r'<img class="epk__photo" src="([^"]+)"', page).group(1)
    assert portrait == f"/media/photos/{names[0]}"
    assert [unescape(src) for src in re.findall(r'<img class="epk__thumb" src="([^"]+)"', page)] == [
        f"/media/photos/{name}" for name in names]
    assert 'alt="Foto de prensa 2 de Luna Roja"' in page
    downloads = re.findall(r'<a class="epk__photo-download" href="([^"]+)" download aria-label="([^"]+)"', page)
    assert downloads == [(f"/p/{slug}/fotos/1", "Descargar la foto 1 en alta resolución"),
                         (f"/p/{slug}/fotos/2", "Descargar la foto 2 en alta resolución")]
    for (href, _), content, name in zip(downloads, contents, (f"{slug}-foto-prensa-1.png", f"{slug}-foto-prensa-2.jpg")):
        response = public_get(href)
        assert response.status_code == 200 and response.content == content  # full resolution, byte for byte
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    for missing in ("0", "3"):
        assert public_get(f"/p/{slug}/fotos/{missing}").status_code == 404

    english = public_get(f"/p/{slug}/?lang=en").content.decode()
    assert f"Photo: {ESCAPED}" in english and "Download photo 2 in high resolution" in english


def test_the_json_the_pdf_and_the_zip_carry_the_credits_as_written(two_photos):
    presskit, _ = two_photos
    document = public_get(f"/p/{presskit.slug}.json").json()
    jsonschema.validate(document, json_schema(), format_checker=jsonschema.FormatChecker())
    assert document["schema_version"] == 3 and "photo" not in document
    assert [(photo["credit"], photo["url"].rsplit(".", 1)[1]) for photo in document["photos"]] == [(CREDIT, "png"), ("", "jpg")]
    assert f"Foto: {CREDIT}" in pdf_text(public_get(f"/p/{presskit.slug}.pdf").content)  # the portrait's caption


def test_from_the_snapshot_a_download_goes_to_the_photo_itself(two_photos, own_breakers):  # noqa: F811
    presskit, contents = two_photos
    get_breaker("database").force_open("drill")
    response = public_get(f"/p/{presskit.slug}/fotos/2")
    assert response.status_code == 302 and response["Location"].startswith("/media/photos/presskits/")
    assert public_get(response["Location"]).content == contents[1]


def test_a_published_photo_changed_in_the_draft_shows_unpublished_changes(places, png):
    presskit = published("Luna Roja", photos=({"name": stored(png), "credit": ""},))
    ChatSession.objects.filter(presskit=presskit).update(current_step=TOTAL_STEPS + 1)  # the seven answered
    browser = Client()
    browser.get("/")  # a browser of its own: the edit link is how it owns this chat
    browser.get(f"/e/{edit_link_create(presskit_id=str(presskit.pk))}/")
    assert "Tienes cambios sin publicar." not in unescape(browser.get("/").content.decode())
    # A version published before several photos (schema 2, one "photo") is not a change either.
    version = PresskitVersion.objects.get(presskit=presskit)
    older = {key: value for key, value in version.document.items() if key != "photos"}
    older.update(schema_version=2, photo={key: version.document["photos"][0][key] for key in ("url", "variants")})
    PresskitVersion.objects.filter(pk=version.pk).update(document=older)
    assert "Tienes cambios sin publicar." not in unescape(browser.get("/").content.decode())
    photo = PressPhoto.objects.get(presskit=presskit)
    form = {"action": "photo", "operation": "credit", "photo": str(photo.pk), "message": "Ana Gil"}
    assert browser.post("/", form).status_code == 302
    assert PressPhoto.objects.get(presskit=presskit).credit == "Ana Gil"
    assert "Tienes cambios sin publicar." in unescape(browser.get("/").content.decode())


@pytest.mark.asyncio
async def test_the_panel_changes_credits_and_order_and_takes_photos_out(artist, open_chat, places, png):
    communicator = await open_chat(artist)
    for text in SEVEN_ANSWERS:
        await answer(communicator, text)
    chat = await ChatSession.objects.aget(pk=artist.chat_id)
    names, ids = [], []
    for position, content in enumerate((png, jpeg_bytes(), png_bytes(20, 20))):
        name = stored(content, "png" if position != 1 else "jpg", presskit=str(chat.presskit_id))
        names.append(name)
        photo = await PressPhoto.objects.acreate(presskit_id=chat.presskit_id, name=name, position=position)
        ids.append(str(photo.pk))

    async def panel_after(values: dict) -> str:
        await communicator.send_to(text_data=json.dumps({"action": "photo", "HEADERS": {"HX-Request": "true"}, **values}))
        return await communicator.receive_from(5)

    panel = await panel_after({"operation": "credit", "photo": ids[1], "message": f"  {CREDIT}\n"})
    assert 'id="draft"' in panel and f'value="{ESCAPED}"' in panel and "<script>alert(1)" not in panel
    panel = await panel_after({"operation": "later", "photo": ids[0]})
    order = [photo async for photo in PressPhoto.objects.filter(presskit_id=chat.presskit_id).values_list("name", flat=True)]
    assert order == [names[1], names[0], names[2]]
    assert panel.index(names[1].rsplit("/", 1)[1]) < panel.index(names[0].rsplit("/", 1)[1])
    assert panel.index("Portada") < panel.index(names[0].rsplit("/", 1)[1])  # the new first one is the cover
    await panel_after({"operation": "earlier", "photo": ids[1]})  # already first: it stays
    panel = await panel_after({"operation": "remove", "photo": ids[2]})
    assert "2 de 8 fotos" in panel and not photo_storage().exists(names[2])  # never published: its file goes
    assert error_text(await panel_after({"operation": "remove", "photo": ids[2]})) == "Esa foto ya no estaba en tu presskit."
    stranger = await ChatSession.objects.aget(pk=(await sync_to_async(make_artist)()).chat_id)
    other = await PressPhoto.objects.acreate(presskit_id=stranger.presskit_id)
    assert error_text(await panel_after({"operation": "remove", "photo": str(other.pk)})) == (
        "Esa foto ya no estaba en tu presskit.")  # another artist's photo: not reachable from this chat
    assert await PressPhoto.objects.filter(pk=other.pk).aexists()
    assert error_text(await panel_after({"operation": "remove", "photo": "1"})) == "No reconozco esa acción."
    assert error_text(await panel_after({"operation": "credit", "photo": ids[0], "message": "x" * 121})).startswith(
        "El crédito de la foto puede tener hasta 120 caracteres.")
    assert error_text(await panel_after({"operation": "rotate", "photo": ids[0]})) == "No reconozco esa acción."
    credits = [credit async for credit in PressPhoto.objects.filter(presskit_id=chat.presskit_id).values_list("credit", flat=True)]
    assert credits == [CREDIT, ""]


def test_without_javascript_a_photo_change_goes_back_to_the_photos(browser, places, png):
    browser.upload(png, htmx=True)
    browser.upload(jpeg_bytes(), name="b.jpg", content_type="image/jpeg", htmx=True)
    first, second = browser.photos
    response = browser.client.post("/", {"action": "photo", "operation": "earlier", "photo": str(second.pk)})
    assert response.status_code == 302 and response["Location"] == "/#photo"
    assert [photo.pk for photo in browser.photos] == [second.pk, first.pk]


@pytest.fixture
def before_photos():
    """The database as it was before several photos (presskit 0012), migrated forward again after."""
    executor = MigrationExecutor(connection)
    executor.migrate([("presskit", "0012_dailycount_zip")])
    yield executor
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_migration_moves_the_one_photo_into_the_photos(places, before_photos):
    executor = before_photos
    old_apps = executor.loader.project_state([("presskit", "0012_dailycount_zip")]).apps
    OldPresskit = old_apps.get_model("presskit", "Presskit")
    OldVersion = old_apps.get_model("presskit", "PresskitVersion")
    name = stored(png_bytes(1000, 800))
    photo_storage().save(name[:-4] + "-w480.jpg", ContentFile(jpeg_bytes()))
    with_photo = OldPresskit.objects.create(photo_name=name)
    waiting = OldPresskit.objects.create(photo_name="presskits/x/old.png", photo_staged="abc.png")
    bare = OldPresskit.objects.create()
    OldVersion.objects.create(presskit=with_photo, number=1, document={"photo": {"url": "/x", "variants": []}},
                              photo_name=name)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(PressPhoto.objects.filter(presskit_id=with_photo.pk).values_list("name", "widths", "staged")) == [
        (name, [480], "")]
    # The stored photo shows until the newer upload's copy is recorded (which replaces it).
    assert list(PressPhoto.objects.filter(presskit_id=waiting.pk).values_list("name", "staged")) == [
        ("presskits/x/old.png", "abc.png")]
    assert not PressPhoto.objects.filter(presskit_id=bare.pk).exists()
    assert PresskitVersion.objects.get(presskit_id=with_photo.pk).photo_names == [name]


def test_a_photo_moved_over_with_a_newer_upload_waiting_shows_the_newer_once_stored(places, png):
    from chat.services import chat_session_create

    presskit_id = str(chat_session_create(language="es").presskit_id)
    old = stored(png_bytes(30, 20), presskit=presskit_id)
    staged = f"{uuid.uuid4().hex}.png"
    places.staging.mkdir(parents=True, exist_ok=True)
    (places.staging / staged).write_bytes(png)
    photo = PressPhoto.objects.create(presskit_id=presskit_id, name=old, staged=staged)  # as 0013 leaves it
    payload = {"presskit": presskit_id, "staged": staged}
    with transaction.atomic():
        photo_record(payload, photo_store(payload))
    photo.refresh_from_db()
    assert photo.name == f"presskits/{presskit_id}/{staged}" and photo.staged == ""
    assert photo_storage().exists(photo.name) and not photo_storage().exists(old)  # replaced, not left behind
