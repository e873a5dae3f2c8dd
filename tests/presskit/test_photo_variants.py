"""The press photos' resized variants, made when a photo is stored, and what publishing does
with them: a srcset on the public page, the 960 px one in the PDF, and a published photo kept
when the draft's photo is taken out. The PDF renderer fetches only our own files."""
from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image

from presskit.exports import _fetch_own
from presskit.models import Presskit
from presskit.photos import photo_storage
from presskit.services import presskit_publish

pytestmark = pytest.mark.django_db(transaction=True)


def photo(width: int, height: int, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(out, kind)
    return out.getvalue()


def finished(presskit: Presskit) -> None:
    Presskit.objects.filter(pk=presskit.pk).update(artist_name="Luna Roja", genres=["house"], booking_email="b@luna.es",
                                                   short_bio="Luna Roja es DJ.", bio_source="template")


def test_a_stored_photo_gets_its_variants_and_the_page_a_srcset(browser, places):
    assert browser.upload(photo(2000, 1500)).status_code == 302
    name = browser.photo.name
    assert browser.photo.widths == [480, 960, 1600]
    storage = photo_storage()
    widths = {}
    for width in (480, 960, 1600):
        with storage.open(name.rsplit(".", 1)[0] + f"-w{width}.jpg") as variant:
            widths[width] = Image.open(variant).size
    assert widths == {480: (480, 360), 960: (960, 720), 1600: (1600, 1200)}

    finished(browser.presskit)
    presskit_publish(presskit_id=str(browser.presskit.pk), language="es")
    page = Client(HTTP_HOST="localhost").get(f"/p/{browser.presskit.slug}/").content.decode()
    assert "-w480.jpg 480w" in page and "-w1600.jpg 1600w" in page
    served = Client(HTTP_HOST="localhost").get(f"/media/photos/{name.rsplit('.', 1)[0]}-w960.jpg")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"


def test_a_narrow_photo_is_never_enlarged(browser, places):
    browser.upload(photo(600, 400, "JPEG"), name="foto.jpg", content_type="image/jpeg")
    assert [path.name.rsplit("-", 1)[-1] for path in places.stored_files() if "-w" in path.name] == ["w480.jpg"]
    assert browser.photo.widths == [480]


def test_a_published_photo_stays_when_the_draft_takes_it_out(browser, places):
    browser.upload(photo(1000, 800))
    browser.upload(photo(1200, 900))
    published_name, unpublished_name = (each.name for each in browser.photos)
    finished(browser.presskit)
    presskit_publish(presskit_id=str(browser.presskit.pk), language="es")
    browser.upload(photo(800, 600))
    draft_only = browser.photos[2].name
    for each in browser.photos:
        form = {"action": "photo", "operation": "remove", "photo": str(each.pk)}
        assert browser.client.post("/", form).status_code == 302
    assert browser.photos == []
    assert photo_storage().exists(published_name) and photo_storage().exists(unpublished_name)  # version 1 shows them
    assert not photo_storage().exists(draft_only) and not photo_storage().exists(draft_only[:-4] + "-w480.jpg")
    page = Client(HTTP_HOST="localhost").get(f"/p/{browser.presskit.slug}/").content.decode()
    assert published_name.rsplit(".", 1)[0] in page and unpublished_name.rsplit(".", 1)[0] in page


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "https://example.com/x.png", "file:///etc/passwd",
    "presskit:photo/../../etc/passwd", "presskit:static/../../settings.py", "presskit:static/js/chat.js",
])
def test_the_pdf_renderer_fetches_only_our_own_files(url):
    with pytest.raises(ValueError):
        _fetch_own(url)


@pytest.mark.parametrize("value,expected", [
    ("@lunaroja", ("instagram", "https://www.instagram.com/lunaroja/")),
    ("https://soundcloud.com/lunaroja", ("soundcloud", "https://soundcloud.com/lunaroja")),
    ("https://open.spotify.com/artist/1", ("spotify", "https://open.spotify.com/artist/1")),
    ("https://youtu.be/x", ("youtube", "https://youtu.be/x")),
    ("https://luna.bandcamp.com/album/a", ("bandcamp", "https://luna.bandcamp.com/album/a")),
    ("https://notinstagram.com/x", ("web", "https://notinstagram.com/x")),
    ("https://lunaroja.es", ("web", "https://lunaroja.es")),
    ("javascript:alert(1)", None),
    ("ftp://lunaroja.es/a", None),
    ("data:text/html,<script>", None),
])
def test_only_http_links_and_handles_become_links(value, expected):
    from presskit.documents import link_of

    link = link_of(value)
    assert (None if link is None else (link["kind"], link["url"])) == expected
