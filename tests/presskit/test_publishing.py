"""Publishing through the doors artists and bookers use: the chat's WebSocket (`publish`,
`unpublish`, `edit_link`), the no-JavaScript form, the public page, its JSON and its PDF, and the
private edit link opened in another browser."""
from __future__ import annotations

import io
import json
import re
from html import unescape

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from pypdf import PdfReader

from chat.models import ChatSession
from presskit.documents import json_schema
from presskit.models import Presskit, PresskitVersion
from resilience.models import QueuedJob
from resilience.queue import job_run
from tests.chat.test_consumer import SEVEN_ANSWERS
from tests.conftest import answer, error_text, send_and_collect

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PUBLIC_LINK = re.compile(r'<a id="public-link" href="(/p/([a-z0-9-]+)/)"')
EDIT_LINK = re.compile(r'<a id="private-link-url" href="(/e/([A-Za-z0-9_-]+)/)"')
HOST = {"HTTP_HOST": "localhost"}


async def finished_chat(open_chat, artist, answers=SEVEN_ANSWERS):
    communicator = await open_chat(artist)
    for text in answers:
        await answer(communicator, text)
    return communicator


async def publish(communicator) -> list[str]:
    return await send_and_collect(communicator, {"action": "publish", "HEADERS": {"HX-Request": "true"}})


async def presskit_of(chat_id: str) -> Presskit:
    return (await ChatSession.objects.select_related("presskit").aget(pk=chat_id)).presskit


def public_get(path: str):
    return Client(**HOST).get(path)


@sync_to_async
def export_jobs_run() -> list[str]:
    """What a worker does with the export jobs the drain hands it."""
    return [job_run(job.pk) for job in QueuedJob.objects.filter(job_type="presskit.version_export", status="pending")]


async def test_publishing_gives_a_public_link_and_a_private_edit_link_once(artist, open_chat):
    communicator = await finished_chat(open_chat, artist)
    frames = await publish(communicator)
    done = "".join(frames)
    path, slug = PUBLIC_LINK.search(done).groups()
    assert re.fullmatch(r"luna-roja-[a-z2-9]{4}", slug)
    assert f"¡Tu presskit está publicado! Este es el enlace para enviar a promotores y salas: {path}" in unescape(done)
    assert "Publicado: versión 1" in done
    edit = await communicator.receive_from(5)  # to this tab only
    assert EDIT_LINK.search(edit) and "Quien tenga este enlace puede editar tu presskit" in edit

    page = await sync_to_async(public_get)(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="es">' in html and "<h1 class=\"epk__name\">Luna Roja</h1>" in html
    assert 'href="mailto:booking@lunaroja.com"' in html
    assert 'href="https://www.instagram.com/lunaroja/"' in html and 'href="https://soundcloud.com/lunaroja"' in html
    assert f'<meta property="og:url" content="http://localhost{path}">' in html
    assert f'<link rel="alternate" type="application/pdf" href="/p/{slug}.pdf"' in html
    assert page["Content-Security-Policy"].startswith("default-src 'none'")
    # The page's one script is this site's (the player, the counts); it sets no cookie.
    assert re.findall(r'<script src="([^"]+)"', html) == [re.search(r'/static/js/public\.[0-9a-f]+\.js', html).group(0)]
    assert "Set-Cookie" not in page.headers
    structured = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert structured["@type"] == "MusicGroup" and structured["sameAs"] == [
        "https://www.instagram.com/lunaroja/", "https://soundcloud.com/lunaroja"]

    data = await sync_to_async(public_get)(f"/p/{slug}.json")
    assert data["Access-Control-Allow-Origin"] == "*"
    jsonschema.validate(data.json(), json_schema(), format_checker=jsonschema.FormatChecker())
    assert data.json()["artist"]["name"] == "Luna Roja" and data.json()["version"] == 1


async def test_publishing_before_the_seventh_answer_is_refused(artist, open_chat):
    communicator = await finished_chat(open_chat, artist, SEVEN_ANSWERS[:3])
    frames = await publish(communicator)
    assert error_text(frames[-1]) == "Primero completa los siete pasos; después podrás publicar tu presskit."
    assert not await PresskitVersion.objects.aexists()


async def test_edits_wait_in_the_draft_until_published_again_as_a_new_version(artist, open_chat):
    communicator = await finished_chat(open_chat, artist)
    slug = PUBLIC_LINK.search("".join(await publish(communicator))).group(2)
    await communicator.receive_from(5)  # the private link
    await send_and_collect(communicator, {"action": "edit", "step": "4"})
    frames = await answer(communicator, "Barcelona")
    assert "Tienes cambios sin publicar." in frames[-1] and "Publicar cambios" in frames[-1]
    assert "Madrid" in (await sync_to_async(public_get)(f"/p/{slug}/")).content.decode()  # not yet

    frames = await publish(communicator)
    assert "He publicado tus cambios: la versión 2 ya está en" in unescape("".join(frames))
    assert PUBLIC_LINK.search("".join(frames)).group(2) == slug  # the same link
    html = (await sync_to_async(public_get)(f"/p/{slug}/")).content.decode()
    assert "Barcelona" in html and "Versión 2" in html
    numbers = [v async for v in PresskitVersion.objects.order_by("number").values_list("number", flat=True)]
    assert numbers == [1, 2]  # what was public when is kept


async def test_unpublish_takes_the_page_down_with_a_friendly_404(artist, open_chat):
    communicator = await finished_chat(open_chat, artist)
    slug = PUBLIC_LINK.search("".join(await publish(communicator))).group(2)
    await communicator.receive_from(5)
    frames = await send_and_collect(communicator, {"action": "unpublish"})
    assert "He retirado tu página" in unescape("".join(frames))
    for path in (f"/p/{slug}/", f"/p/{slug}.json", f"/p/{slug}.pdf"):
        assert (await sync_to_async(public_get)(path)).status_code == 404
    missing = (await sync_to_async(public_get)(f"/p/{slug}/")).content.decode()
    assert "Este presskit no está publicado" in missing
    frames = await send_and_collect(communicator, {"action": "unpublish"})
    assert error_text(frames[-1]) == "Tu página no está publicada, así que no hay nada que retirar."


async def test_unknown_slugs_and_unpublished_drafts_are_404(artist, other_artist, open_chat):
    await finished_chat(open_chat, other_artist)  # finished, never published
    presskit = await presskit_of(other_artist.chat_id)
    for path in ("/p/no-such-artist-zzzz/", f"/p/{presskit.pk}/", "/p/luna-roja/", "/p/a.json", "/p/%3Cscript%3E/"):
        response = await sync_to_async(public_get)(path)
        assert response.status_code == 404, path
    english = await sync_to_async(lambda: Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="en").get("/p/x-1/"))()
    assert "This presskit is not published" in english.content.decode()


async def test_the_private_link_binds_another_browser_and_a_new_one_revokes_it(artist, open_chat):
    communicator = await finished_chat(open_chat, artist)
    await publish(communicator)
    edit_path = EDIT_LINK.search(await communicator.receive_from(5)).group(1)

    phone = Client(**HOST)
    opened = await sync_to_async(phone.get)(edit_path)
    assert opened.status_code == 302 and opened["Location"] == "/"
    assert opened["Referrer-Policy"] == "no-referrer"
    page = (await sync_to_async(phone.get)("/")).content.decode()
    assert f'ws-connect="/ws/chat/{artist.chat_id}/"' in page and "Luna Roja" in page

    frames = await send_and_collect(communicator, {"action": "edit_link"})
    new_path = EDIT_LINK.search(await communicator.receive_from(5)).group(1)
    assert new_path != edit_path and "el anterior ya no funciona" in unescape("".join(frames))
    stranger = Client(**HOST)
    refused = await sync_to_async(stranger.get)(edit_path)
    assert refused.status_code == 404 and "Este enlace privado no funciona" in refused.content.decode()
    assert (await sync_to_async(stranger.get)("/e/" + "x" * 500 + "/")).status_code == 404
    assert (await sync_to_async(Client(**HOST).get)(new_path)).status_code == 302


async def test_no_javascript_publish_shows_the_links_in_the_answer(artist, open_chat):
    await finished_chat(open_chat, artist)
    browser = Client(**HOST)
    browser.cookies[artist.cookie.split("=")[0]] = artist.cookie.split("=", 1)[1]
    page = await sync_to_async(browser.get)("/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = await sync_to_async(browser.post)("/", {"action": "publish", "csrfmiddlewaretoken": token})
    html = response.content.decode()
    assert response.status_code == 200 and PUBLIC_LINK.search(html) and EDIT_LINK.search(html)
    again = (await sync_to_async(browser.get)("/")).content.decode()
    assert PUBLIC_LINK.search(again) and not EDIT_LINK.search(again)  # the private link was shown once


async def test_the_pdf_is_made_by_the_export_job_and_its_text_is_selectable(artist, open_chat):
    hostile = "<script>alert(1)</script>"
    communicator = await finished_chat(open_chat, artist, ["Luna " + hostile[:20], *SEVEN_ANSWERS[1:]])
    slug = PUBLIC_LINK.search("".join(await publish(communicator))).group(2)
    presskit = await presskit_of(artist.chat_id)
    on_demand = await sync_to_async(public_get)(f"/p/{slug}.pdf")  # before the job: rendered now
    assert on_demand.status_code == 200 and on_demand["Content-Type"] == "application/pdf"

    assert await export_jobs_run() == ["done"]
    version = await PresskitVersion.objects.aget(presskit=presskit)
    assert version.pdf_name == f"pdf/{slug}-v1.pdf"
    response = await sync_to_async(public_get)(f"/p/{slug}.pdf")
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) <= 2
    assert presskit.artist_name in text  # the name, as text: never markup
    assert " ".join(presskit.short_bio.split()[:6]) in " ".join(text.split())
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/Lang"] == "es" and root["/MarkInfo"]["/Marked"]


async def test_escaping_everywhere_on_the_public_page(artist, open_chat):
    hostile = "</script><img src=x onerror=alert(1)>"
    answers = [SEVEN_ANSWERS[0], SEVEN_ANSWERS[1], SEVEN_ANSWERS[2], hostile, hostile + " " + SEVEN_ANSWERS[4],
               *SEVEN_ANSWERS[5:]]
    communicator = await finished_chat(open_chat, artist, answers)
    slug = PUBLIC_LINK.search("".join(await publish(communicator))).group(2)
    html = (await sync_to_async(public_get)(f"/p/{slug}/")).content.decode()
    assert "<img src=x" not in html and "</script><img" not in html
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in ld and json.loads(ld)["foundingLocation"]["name"] == hostile


async def test_the_review_edits_an_answer_in_place_prefilled(artist, open_chat):
    communicator = await finished_chat(open_chat, artist)
    frames = await send_and_collect(communicator, {"action": "set", "step": "2", "message": "house, disco"})
    assert (await presskit_of(artist.chat_id)).genres == ["house", "disco"]
    done = frames[-1]
    assert '<textarea id="set-2" name="message" rows="2" maxlength="2000" required>house, disco</textarea>' in done
    assert 'id="set-5"' in done and 'rows="6"' in done  # the story gets a bigger box
    frames = await send_and_collect(communicator, {"action": "set", "step": "7", "message": "no es un email"})
    assert (await presskit_of(artist.chat_id)).booking_email == "booking@lunaroja.com"  # kept
    assert "Editando" in frames[-1]  # asked again, for that field
    frames = await send_and_collect(communicator, {"action": "set", "step": "9", "message": "x"})
    assert error_text(frames[-1]) == "Solo puedes editar pasos que ya has respondido."
