"""The bio in one line (~15 words, for festival programmes) beside the short and long ones: first
in the chat's review panel, a lead line on the public page and in the PDF, in the JSON. It is the
artist's data, escaped wherever it is shown; a version published before it had one shows none."""
from __future__ import annotations

import io
import json

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from pypdf import PdfReader

from presskit.documents import json_schema
from presskit.exports import pdf_render
from presskit.models import PresskitVersion
from tests.chat.test_consumer import SEVEN_ANSWERS
from tests.conftest import answer
from tests.presskit.test_publishing import PUBLIC_LINK, presskit_of, public_get, publish

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ONE_LINER = "Luna Roja: artista de house y techno melódico con base en Madrid, en activo desde 2014."
HOSTILE_NAME = "Luna <img src=x onerror=alert(1)>"


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


async def published(open_chat, artist, answers=SEVEN_ANSWERS) -> tuple[str, list[str]]:
    """The chat finished and published: (slug, the frames of the seventh answer's turn)."""
    communicator = await open_chat(artist)
    frames: list[str] = []
    for text in answers:
        frames = await answer(communicator, text)
    return PUBLIC_LINK.search("".join(await publish(communicator))).group(2), frames


async def test_the_one_liner_leads_the_bio_on_the_page_the_pdf_and_the_json(artist, open_chat):
    slug, frames = await published(open_chat, artist)
    assert (await presskit_of(artist.chat_id)).one_liner == ONE_LINER
    panel = frames[-1]
    assert panel.index("<h4>En una línea</h4>") < panel.index(ONE_LINER) < panel.index("<h4>Breve</h4>")

    html = (await sync_to_async(public_get)(f"/p/{slug}/")).content.decode()
    assert f'<p class="epk__one-liner"><strong>{ONE_LINER}</strong></p>' in html
    assert html.index(ONE_LINER) < html.index('<p class="epk__short">')

    document = (await sync_to_async(public_get)(f"/p/{slug}.json")).json()
    jsonschema.validate(document, json_schema(), format_checker=jsonschema.FormatChecker())
    assert document["schema_version"] == 3 and document["bio"]["one_liner"] == ONE_LINER

    text = pdf_text((await sync_to_async(public_get)(f"/p/{slug}.pdf")).content)
    assert ONE_LINER in text and text.index(ONE_LINER) < text.index("Luna Roja es artista de house")


async def test_html_in_an_answer_is_escaped_in_the_one_liner_everywhere(artist, open_chat):
    slug, frames = await published(open_chat, artist, [HOSTILE_NAME, *SEVEN_ANSWERS[1:]])
    one_liner = (await presskit_of(artist.chat_id)).one_liner
    assert one_liner.startswith(f"{HOSTILE_NAME}: artista de house")
    escaped = "Luna &lt;img src=x onerror=alert(1)&gt;: artista de house"

    assert "<img src=x" not in frames[-1] and f'<p class="bios__one-liner">{escaped}' in frames[-1]
    html = (await sync_to_async(public_get)(f"/p/{slug}/")).content.decode()
    assert "<img src=x" not in html and f'<p class="epk__one-liner"><strong>{escaped}' in html
    # The PDF has it as text (never markup); the JSON as the plain text it is, for clients to escape.
    assert one_liner in pdf_text((await sync_to_async(public_get)(f"/p/{slug}.pdf")).content)
    response = await sync_to_async(public_get)(f"/p/{slug}.json")
    assert response["Content-Type"].startswith("application/json") and response["X-Content-Type-Options"] == "nosniff"
    assert json.loads(response.content)["bio"]["one_liner"] == one_liner


async def test_a_version_published_without_a_one_liner_shows_none(artist, open_chat):
    slug, _ = await published(open_chat, artist)
    version = await PresskitVersion.objects.aget(presskit__slug=slug)
    document = {**version.document, "bio": {key: value for key, value in version.document["bio"].items()
                                            if key != "one_liner"}}
    await PresskitVersion.objects.filter(pk=version.pk).aupdate(document=document)

    page = await sync_to_async(public_get)(f"/p/{slug}/")
    html = page.content.decode()
    assert page.status_code == 200 and "epk__one-liner" not in html and '<p class="epk__short">Luna Roja' in html
    text = pdf_text(await sync_to_async(pdf_render)(document))
    assert "Luna Roja es artista de house" in text and "con base en Madrid, en activo desde 2014." not in text
