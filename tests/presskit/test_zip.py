""""Descargar todo": the ZIP of the public version (/p/<slug>.zip) holds the photo as published,
the PDF, the JSON as served, the bios as plain text and the rider, under fixed names; the export
job builds and keeps it, a download serves the kept one until a show in it has passed, and each
download is counted once (never for a bot)."""
from __future__ import annotations

import datetime
import io
import json
import uuid
import zipfile

import pypdfium2
import pytest
from django.core.files.base import ContentFile
from django.test import Client

from chat import services as chat_services
from presskit import zips
from presskit.exports import exports_storage, pdf_name
from presskit.models import Presskit, PresskitVersion
from presskit.photos import photo_storage
from presskit.services import presskit_publish, presskit_unpublish
from presskit.zips import zip_name
from resilience.models import QueuedJob
from resilience.queue import job_retry_now, job_run
from tests.presskit.images import jpeg_bytes, png_bytes
from tests.presskit.test_public_snapshot import published
from tests.presskit.test_rider_pdf import pdf_bytes
from tests.presskit.test_stats import BROWSER, waiting

pytestmark = pytest.mark.django_db(transaction=True)

SOON = {"date": datetime.date(2027, 1, 10), "venue": "Sala Apolo", "city": "Barcelona", "url": ""}
LATER = {"date": datetime.date(2027, 2, 13), "venue": "Sala Riviera", "city": "Madrid", "url": ""}
BIOS = {"one_liner": "La DJ que convierte cualquier sala en una pista.",
        "short_bio": "Luna Roja pincha house en Madrid.", "long_bio": "Luna Roja empezó en 2014.\n\nHoy toca en toda España, ñ incluida."}
ENGLISH = {"one_liner": "The DJ who turns any room into a dance floor.", "short": "Luna Roja plays house in Madrid.",
           "long": "Luna Roja started in 2014."}


@pytest.fixture(autouse=True)
def own_places(settings, tmp_path):
    """An exports storage, a photo storage and counts of this test's own."""
    settings.STORAGES = {**settings.STORAGES,
                         "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                     "OPTIONS": {"location": str(tmp_path / "exports")}},
                         "photos": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                    "OPTIONS": {"location": str(tmp_path / "photos"), "base_url": "/media/photos/"}}}
    settings.REDIS_KEY_PREFIX = f"test-zip-{uuid.uuid4().hex[:10]}"
    settings.PRESSKIT_TODAY = "2027-01-01"


@pytest.fixture
def builds(monkeypatch) -> list[str]:
    """The slugs of the ZIPs built from now on, in order."""
    built: list[str] = []
    build = zips.zip_build

    def counted(document: dict, **kwargs) -> bytes:
        built.append(document["slug"])
        return build(document, **kwargs)

    monkeypatch.setattr(zips, "zip_build", counted)
    return built


def stored_photo(content: bytes, extension: str = "png") -> str:
    """A photo in the photo storage under a name the app writes."""
    return photo_storage().save(f"presskits/{uuid.uuid4()}/{uuid.uuid4().hex}.{extension}", ContentFile(content))


def draft_rider(content: bytes) -> str:
    return exports_storage().save(f"riders/draft/{uuid.uuid4().hex}.pdf", ContentFile(content))


def download(slug: str, user_agent: str = BROWSER, method: str = "get"):
    return getattr(Client(HTTP_HOST="localhost", HTTP_USER_AGENT=user_agent), method)(f"/p/{slug}.zip")


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def shows_in(content: bytes, slug: str) -> list[str]:
    return [show["venue"] for show in json.loads(members(content)[f"{slug}/presskit.json"])["shows"]]


def test_the_zip_holds_the_photos_pdf_json_bios_and_rider_under_fixed_names():
    photo, second, rider = png_bytes(40, 30), jpeg_bytes(), pdf_bytes(2)
    photos = ({"name": stored_photo(photo), "credit": "Ana <b>Pérez</b>"},
              {"name": stored_photo(second, "jpg"), "credit": ""})
    presskit = published("Luna Roja", photos=photos, rider_pdf_name=draft_rider(rider),
                         bio_translations={"en": ENGLISH}, **BIOS)
    slug = presskit.slug
    response = download(slug)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{slug}-presskit.zip"'
    assert response["X-Content-Type-Options"] == "nosniff"

    files = members(response.content)
    assert sorted(files) == sorted(f"{slug}/{name}" for name in (
        "foto-prensa-1.png", "foto-prensa-2.jpg", "fotos.txt", "presskit.pdf", "presskit.json", "bios.txt", "rider.pdf"))
    assert files[f"{slug}/foto-prensa-1.png"] == photo  # full resolution, as published: byte for byte
    assert files[f"{slug}/foto-prensa-2.jpg"] == second
    assert files[f"{slug}/fotos.txt"].decode("utf-8") == (
        "Luna Roja · Fotos de prensa\n===========================\n\n"
        "foto-prensa-1.png · Foto: Ana <b>Pérez</b>\nfoto-prensa-2.jpg\n")  # plain text: nothing escaped
    assert files[f"{slug}/rider.pdf"] == rider
    version = PresskitVersion.objects.get(presskit=presskit)
    with exports_storage().open(pdf_name(version.document)) as stored:
        assert files[f"{slug}/presskit.pdf"] == stored.read()  # the one the export job stored
    assert len(pypdfium2.PdfDocument(files[f"{slug}/presskit.pdf"])) == 1
    assert json.loads(files[f"{slug}/presskit.json"]) == Client(HTTP_HOST="localhost").get(f"/p/{slug}.json").json()

    bios = files[f"{slug}/bios.txt"].decode("utf-8")
    for text in (*BIOS.values(), *ENGLISH.values()):
        assert text in bios
    assert bios.startswith("Luna Roja · Biografías\n")
    assert "Biografía corta" in bios and "Inglés (traducción)" in bios  # headed in the document's language
    assert bios.index(BIOS["short_bio"]) < bios.index("Inglés (traducción)") < bios.index(ENGLISH["short"])


def test_without_photo_or_rider_it_holds_the_rest():
    presskit = published("Luna Roja")
    files = members(download(presskit.slug).content)
    assert sorted(files) == sorted(f"{presskit.slug}/{name}" for name in ("presskit.pdf", "presskit.json", "bios.txt"))
    assert "Luna Roja es DJ de house en Madrid." in files[f"{presskit.slug}/bios.txt"].decode()


def test_the_export_job_builds_and_keeps_it_and_a_download_serves_the_kept_one(builds):
    presskit = published("Luna Roja", shows=(LATER,))
    assert builds == [presskit.slug]  # by the worker's job
    name = zip_name(PresskitVersion.objects.get(presskit=presskit).document)
    assert name == f"zips/{presskit.slug}-v1.zip"
    modified = exports_storage().get_modified_time(name)
    with exports_storage().open(name) as kept:
        content = kept.read()
    for _ in range(2):
        assert download(presskit.slug).content == content
    assert builds == [presskit.slug] and exports_storage().get_modified_time(name) == modified


def test_a_failed_build_is_retried_by_the_queue(settings, monkeypatch):
    settings.RESILIENCE_KEY_PREFIX = f"test-zip-{uuid.uuid4().hex[:10]}"  # the storage breaker's own
    build, failures = zips.zip_build, [OSError("storage away")]

    def failing_once(document: dict, **kwargs) -> bytes:
        if failures:
            raise failures.pop()
        return build(document, **kwargs)

    monkeypatch.setattr(zips, "zip_build", failing_once)
    session = chat_services.chat_session_create(language="es")
    Presskit.objects.filter(pk=session.presskit_id).update(
        artist_name="Luna Roja", genres=["house"], booking_email="b@luna.es", short_bio="Luna Roja es DJ.",
        bio_source="template")
    version = presskit_publish(presskit_id=str(session.presskit_id), language="es")
    job = QueuedJob.objects.get(job_type="presskit.version_export")
    assert job_run(job.pk) == "failed"
    job_retry_now(job_ids=[job.pk])
    assert job_run(job.pk) == "done"
    assert exports_storage().exists(zip_name(version.document))


def test_it_is_built_again_once_a_show_in_it_has_passed(settings, builds):
    presskit = published("Luna Roja", shows=(SOON, LATER))
    assert shows_in(download(presskit.slug).content, presskit.slug) == ["Sala Apolo", "Sala Riviera"]
    assert len(builds) == 1  # the job's

    settings.PRESSKIT_TODAY = "2027-01-11"
    content = download(presskit.slug).content
    assert shows_in(content, presskit.slug) == ["Sala Riviera"] and len(builds) == 2
    pdf = pypdfium2.PdfDocument(members(content)[f"{presskit.slug}/presskit.pdf"])
    text = " ".join(page.get_textpage().get_text_range() for page in pdf)
    assert "Sala Riviera" in text and "Sala Apolo" not in text
    assert download(presskit.slug).content == content and len(builds) == 2  # kept from then on


def test_a_download_is_counted_once_and_never_for_a_bot():
    presskit = published("Luna Roja")
    assert download(presskit.slug).status_code == 200
    assert download(presskit.slug, method="head").status_code == 200  # a HEAD is not a download
    for bot in ("Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", ""):
        assert download(presskit.slug, user_agent=bot).status_code == 200
    assert waiting() == {f"{presskit.slug}:1:zip": 1}


def test_only_the_public_version_is_served():
    presskit = published("Luna Roja")
    assert download("nadie-zzzz").status_code == 404
    presskit_unpublish(presskit_id=str(presskit.pk))
    assert download(presskit.slug).status_code == 404


def test_the_artists_text_never_becomes_a_path_or_markup():
    hostile = '../../etc/<script>alert("x")</script>'
    presskit = published(hostile, short_bio=f"{hostile} pincha house.")
    files = members(download(presskit.slug).content)
    assert all(name.startswith(f"{presskit.slug}/") and ".." not in name and "<" not in name for name in files)
    assert set(presskit.slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    bios = files[f"{presskit.slug}/bios.txt"].decode()
    assert f"{hostile} pincha house." in bios and "&lt;" not in bios  # plain text, as written


def test_the_public_page_links_the_zip_in_its_downloads():
    presskit = published("Luna Roja")
    client = Client(HTTP_HOST="localhost")
    page = client.get(f"/p/{presskit.slug}/").content.decode()
    assert f'<a href="/p/{presskit.slug}.zip" type="application/zip" download>Descargar todo (ZIP)</a>' in page
    assert "Download everything (ZIP)" in client.get(f"/p/{presskit.slug}/?lang=en").content.decode()


def test_with_the_photo_storage_away_a_download_says_so_and_works_once_it_is_back(settings, tmp_path):
    photo = png_bytes(40, 30)
    presskit = published("Luna Roja", photos=({"name": stored_photo(photo), "credit": ""},))
    exports_storage().delete(zip_name(PresskitVersion.objects.get(presskit=presskit).document))  # none kept yet
    working = settings.STORAGES
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the storage's folder should be")
    settings.STORAGES = {**working, "photos": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                               "OPTIONS": {"location": str(blocker / "photos")}}}
    response = download(presskit.slug)
    assert response.status_code == 503 and response.content == b"Storage unavailable"
    assert not exports_storage().exists(zip_name(PresskitVersion.objects.get(presskit=presskit).document))

    settings.STORAGES = working
    files = members(download(presskit.slug).content)
    assert files[f"{presskit.slug}/foto-prensa-1.png"] == photo
