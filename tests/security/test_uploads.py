"""Uploaded photos are decoded and re-encoded (issue: "uploads are checked by their first bytes
only"): through the chat's `/photo` door, then back from the served photo's URL. Too many pixels
and broken files are refused at once, with a clear message and nothing kept; what is served is
only pixels (no appended HTML, no metadata, upright), with headers that let it run nothing."""
from __future__ import annotations

import io
from html import unescape

import pytest
from django.test import Client
from PIL import Image, PngImagePlugin

from resilience.models import QueuedJob
from tests.presskit.conftest import browser, open_chat, places  # noqa: F401 - the photo tests' fixtures
from tests.presskit.images import huge_png

pytestmark = pytest.mark.django_db(transaction=True)

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
ORIENTATION = 0x0112
GPS_IFD = 0x8825
GPS_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="40,25.0N"/>'
           b"</rdf:RDF></x:xmpmeta>")


def encoded(image: Image.Image, kind: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def picture(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: which way is up can be told after a rotation."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    return image.convert(mode)


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (40.0, 25.0, 0.0)
    gps[3], gps[4] = "W", (3.0, 42.0, 0.0)
    if orientation:
        exif[ORIENTATION] = orientation
    return exif


def upload(browser, data: bytes, *, htmx: bool = True):
    """Posted the way the draft panel posts it, as "foto.png" (the name and the declared type
    are never trusted)."""
    return browser.upload(data, htmx=htmx)


def served(browser, response):
    """The stored photo as uploaded (the panel shows its smallest copy), fetched from its URL."""
    assert response.status_code in (200, 302)
    photo = browser.client.get(browser.photo.url)
    assert photo.status_code == 200
    return photo


def body(response) -> bytes:
    return b"".join(response)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # the whole picture decodes
    return image


def assert_refused(response, message: str, browser, places) -> None:
    assert response.status_code == 400
    text = unescape(response.content.decode())
    assert message in text and "No se ha guardado nada" in text
    assert not browser.presskit.photos.exists()
    assert places.staged_files() == [] and places.stored_files() == []
    assert not QueuedJob.objects.exists()


# --- Too many pixels ----------------------------------------------------------------------------
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
def test_a_20000_by_20000_png_is_refused_with_a_clear_message(browser, places, htmx):
    bomb = huge_png(20000, 20000)
    assert len(bomb) < 1024 * 1024  # far under PHOTO_MAX_BYTES: only its pixels give it away
    response = upload(browser, bomb, htmx=htmx)
    assert_refused(response, "La foto tiene más de 40 megapíxeles.", browser, places)


def test_the_pixel_limit_is_the_setting_checked_before_any_pixel_is_decoded(settings, browser, places):
    settings.PHOTO_MAX_PIXELS = 800
    header_only = encoded(picture((40, 21)), "PNG")[:60]  # decoding it would find it broken
    assert_refused(upload(browser, header_only), "La foto tiene más de", browser, places)
    assert upload(browser, encoded(picture((40, 20)), "PNG")).status_code == 200


def test_only_a_few_photos_are_decoded_at_once_the_next_waits_then_is_told_to_retry(settings, browser, places):
    """Each decode near the pixel limit holds hundreds of MB: a burst of uploads must not take
    the process's memory. Here every slot is busy for longer than an upload waits."""
    from presskit.photos import _decoding

    settings.PHOTO_DECODE_WAIT = 0.2
    slots = _decoding()
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        response = upload(browser, encoded(picture(), "PNG"))
    finally:
        for _ in range(taken):
            slots.release()
    assert taken == settings.PHOTO_DECODES_AT_ONCE
    assert response.status_code == 503 and "Ahora mismo no podemos recibir fotos" in unescape(response.content.decode())
    assert places.staged_files() == [] and not QueuedJob.objects.exists()
    assert upload(browser, encoded(picture(), "PNG")).status_code == 200  # a slot free: it goes through


def test_the_refusals_are_said_in_english_too(places, transactional_db):
    english = open_chat(Client(HTTP_ACCEPT_LANGUAGE="en"))
    too_many = upload(english, huge_png(20000, 20000))
    assert "The photo has more than 40 megapixels." in unescape(too_many.content.decode())
    broken = upload(english, encoded(picture((300, 300)), "JPEG")[:400])
    assert "damaged or incomplete" in unescape(broken.content.decode())


# --- Broken files -------------------------------------------------------------------------------
def _noise(kind: str) -> bytes:
    return encoded(Image.effect_noise((300, 300), 80).convert("RGB"), kind)


@pytest.mark.parametrize("data", [
    _noise("PNG")[:20000],
    _noise("JPEG")[:4000],
    _noise("WEBP")[:3000],
    _noise("PNG")[:200] + b"\x00" * 20000,
], ids=["truncated-png", "truncated-jpeg", "truncated-webp", "corrupt-png"])
def test_a_truncated_or_corrupt_photo_is_refused_cleanly(browser, places, data):
    response = upload(browser, data)
    assert_refused(response, "el archivo está dañado o incompleto", browser, places)


def test_a_truncated_photo_is_refused_after_a_pdf_was_made_too(browser, places):
    """Importing WeasyPrint (the first PDF a process makes) turns Pillow's LOAD_TRUNCATED_IMAGES
    on for the whole process: the upload check must not depend on which came first."""
    from presskit.exports import _write_pdf

    assert _write_pdf("<p>Luna Roja</p>").startswith(b"%PDF")
    assert_refused(upload(browser, _noise("PNG")[:20000]), "el archivo está dañado o incompleto", browser, places)


# --- Polyglots: what is served is only the picture ----------------------------------------------
def _png_with_html() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", HTML.decode())
    return encoded(picture(), "PNG", pnginfo=text) + HTML  # in a text chunk, and after the end


def _webp_with_html() -> bytes:
    return encoded(picture(), "WEBP", xmp=HTML) + HTML  # in its XMP chunk, and after the RIFF


@pytest.mark.parametrize(("data", "kind"), [(_png_with_html(), "PNG"), (_webp_with_html(), "WEBP")],
                         ids=["png-html", "webp-html"])
def test_a_polyglot_is_served_as_a_plain_image(browser, places, data, kind):
    assert b"<script" in data and Image.open(io.BytesIO(data)).format == kind  # both an image and a page
    photo = served(browser, upload(browser, data))
    content = body(photo)
    assert b"<script" not in content.lower() and b"<html" not in content.lower()
    image = opened(content)
    assert image.format == kind and image.size == (40, 20)
    assert photo["Content-Type"] == Image.MIME[kind]


# --- Metadata and orientation -------------------------------------------------------------------
def test_a_jpeg_with_gps_is_served_without_any_metadata(browser, places):
    data = encoded(picture(), "JPEG", exif=gps_exif(), xmp=GPS_XMP, comment=b"shot at home")
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    content = body(served(browser, upload(browser, data)))
    image = opened(content)
    assert image.format == "JPEG" and not image.getexif() and not image.getexif().get_ifd(GPS_IFD)
    assert b"Exif\x00\x00" not in content and b"GPSLatitude" not in content and b"shot at home" not in content
    assert b"PhoneMaker" not in content and not {"exif", "xmp", "comment"} & set(image.info)


def test_a_jpeg_shot_sideways_is_served_upright_without_its_orientation_tag(browser, places):
    data = encoded(picture((40, 20)), "JPEG", exif=gps_exif(orientation=6))  # "rotate 90° clockwise to view"
    image = opened(body(served(browser, upload(browser, data))))
    assert image.size == (20, 40) and ORIENTATION not in image.getexif()
    red, blue = image.getpixel((10, 2)), image.getpixel((10, 37))  # the left half is now on top
    assert red[0] > 150 > red[2] and blue[2] > 150 > blue[0]


@pytest.mark.parametrize(("mode", "kind", "stored_mode"), [
    ("CMYK", "JPEG", "RGB"), ("L", "JPEG", "RGB"),
    ("P", "PNG", "RGB"), ("LA", "PNG", "RGBA"),
])
def test_photo_modes_are_stored_as_browsers_draw_them(browser, places, mode, kind, stored_mode):
    image = opened(body(served(browser, upload(browser, encoded(picture(mode=mode), kind)))))
    assert image.format == kind and image.mode == stored_mode


def test_a_16_bit_grey_png_keeps_its_tones(browser, places):
    grey = Image.new("I;16", (40, 20), 30000)  # 46 % of white
    image = opened(body(served(browser, upload(browser, encoded(grey, "PNG")))))
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (117, 117, 117)


def test_a_multi_picture_jpeg_is_stored_as_its_first_picture(browser, places):
    out = io.BytesIO()
    picture().save(out, "MPO", save_all=True, append_images=[picture((40, 20), "L")])
    image = opened(body(served(browser, upload(browser, out.getvalue()))))
    assert image.format == "JPEG" and getattr(image, "n_frames", 1) == 1 and image.mode == "RGB"


def test_a_palette_png_keeps_its_transparency(browser, places):
    image = picture().convert("P")
    data = encoded(image, "PNG", transparency=image.getpixel((0, 0)))
    stored = opened(body(served(browser, upload(browser, data))))
    assert stored.mode == "RGBA" and stored.getpixel((0, 0))[3] == 0 and stored.getpixel((39, 0))[3] == 255


# --- Serving ------------------------------------------------------------------------------------
def test_a_served_photo_and_its_variants_can_run_nothing(browser, places):
    response = upload(browser, encoded(picture((600, 400)), "JPEG"))
    photo = served(browser, response)
    name = browser.photo.name.rsplit("/", 1)[1]
    variant = browser.client.get(f"/media/photos/{browser.photo.name[:-4]}-w480.jpg")
    for served_file, filename in ((photo, name), (variant, name[:-4] + "-w480.jpg")):
        assert served_file.status_code == 200 and served_file["Content-Type"] == "image/jpeg"
        assert served_file["Content-Disposition"] == f'inline; filename="{filename}"'
        assert served_file["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert served_file["X-Content-Type-Options"] == "nosniff"
