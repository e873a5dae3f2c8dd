"""The optional sections once the seven steps are done: dates, press quotes, "suena a" and the
tech rider, each a short flow in the chat validated like the steps, led by our code whatever the
providers (no AI request, no backup badge), kept in the panel to take out or change, cleared by
a restart; none blocks publishing."""
from __future__ import annotations

import re
from datetime import date

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chat.models import ChatSession
from chat.sections import validate_quote, validate_show
from chat.steps import InvalidAnswer
from presskit.models import PressQuote, Show
from tests.chat.test_consumer import SEVEN_ANSWERS
from tests.conftest import answer, error_text, message_texts, send_and_collect

TODAY = "2027-01-10"


@pytest.fixture(autouse=True)
def fixed_today(settings):
    settings.PRESSKIT_TODAY = TODAY


@pytest.mark.parametrize(("text", "show"), [
    ("14/02/2027, Sala Apolo, Barcelona", {"date": date(2027, 2, 14), "venue": "Sala Apolo", "city": "Barcelona", "url": ""}),
    ("2027-03-01; Fabrik; Humanes de Madrid, Madrid https://entradas.example/fabrik",
     {"date": date(2027, 3, 1), "venue": "Fabrik", "city": "Humanes de Madrid, Madrid",
      "url": "https://entradas.example/fabrik"}),
    ("10.01.2027 · Razzmatazz · Barcelona", {"date": date(2027, 1, 10), "venue": "Razzmatazz", "city": "Barcelona", "url": ""}),
])
def test_a_show_is_a_date_a_venue_a_city_and_maybe_a_link(text, show):
    assert validate_show(text) == show


@pytest.mark.parametrize(("text", "code"), [
    ("mañana, Sala Apolo, Barcelona", "show_date"),
    ("31/02/2027, Sala Apolo, Barcelona", "show_date"),
    ("09/01/2027, Sala Apolo, Barcelona", "show_past"),  # the day before "today"
    ("14/02/2027, Sala Apolo", "show_parts"),
])
def test_a_show_that_does_not_fit_says_why(text, code):
    with pytest.raises(InvalidAnswer) as refused:
        validate_show(text)
    assert refused.value.code == code


def test_a_quote_is_its_words_and_who_wrote_them():
    assert validate_quote("«Una sesión hipnótica de principio a fin» — Mixmag") == {
        "text": "Una sesión hipnótica de principio a fin", "source": "Mixmag"}
    assert validate_quote('"Pura energía - y oficio" - Resident Advisor') == {
        "text": "Pura energía - y oficio", "source": "Resident Advisor"}
    with pytest.raises(InvalidAnswer):
        validate_quote("Una sesión hipnótica")


async def finished(open_chat, artist):
    communicator = await open_chat(artist)
    for text in SEVEN_ANSWERS:
        frames = await answer(communicator, text)
    return communicator, frames


async def last_reply(communicator, payload) -> tuple[str, list[str]]:
    frames = await send_and_collect(communicator, {**payload, "HEADERS": {"HX-Request": "true"}})
    return message_texts(frames[-1])[-1], frames


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_assistant_leads_each_section_with_no_provider_asked(fake_llm, artist, open_chat):
    communicator, frames = await finished(open_chat, artist)
    assert '<input type="hidden" name="section" value="dates">' in frames[-1]  # offered under the box
    requests_before = len(fake_llm.requests())

    reply, frames = await last_reply(communicator, {"action": "section", "section": "dates"})
    assert reply.startswith("¿Qué fechas tienes?") and "Ej.: 14/02/2027, Sala Apolo" in frames[-1]
    assert "Añadiendo" not in frames[-1] and ">Listo</button>" in frames[-1]  # a way out of it
    reply, frames = await last_reply(communicator, {"message": "mañana, Sala Apolo, Barcelona"})
    assert reply.startswith("No entiendo la fecha")
    reply, frames = await last_reply(communicator, {"message": "14/02/2027, Sala <b>Apolo</b>, Barcelona"})
    assert reply == "Anotada: 14/02/2027 · Sala <b>Apolo</b>, Barcelona. ¿Otra fecha? Escríbela, o di «listo» para terminar."
    assert "Sala &lt;b&gt;Apolo&lt;/b&gt;" in frames[-1] and "<b>Apolo" not in frames[-1]  # escaped in the panel too
    assert 'data-provider="template" data-fallback="false"' in frames[-1]
    reply, _ = await last_reply(communicator, {"message": "Listo."})
    assert reply.startswith("Hecho. ¿Quieres añadir algo más?")

    reply, _ = await last_reply(communicator, {"message": "quiero poner citas de prensa"})  # by its words
    assert reply.startswith("Pega una cita de prensa")
    reply, _ = await last_reply(communicator, {"message": "«Una sesión hipnótica» — Mixmag"})
    assert reply.startswith("Anotada: «Una sesión hipnótica» — Mixmag. ¿Otra cita?")
    await last_reply(communicator, {"message": "no"})
    reply, _ = await last_reply(communicator, {"action": "section", "section": "sounds_like"})
    reply, frames = await last_reply(communicator, {"message": "Bicep, Four Tet"})
    assert reply.startswith("Anotado: suenas a Bicep, Four Tet. ¿Quieres añadir algo más?")  # one answer: done
    assert len(fake_llm.requests()) == requests_before  # led by our code

    presskit = (await ChatSession.objects.select_related("presskit").aget(pk=artist.chat_id)).presskit
    assert presskit.sounds_like == "Bicep, Four Tet"
    assert [(s.venue, s.city) async for s in Show.objects.filter(presskit=presskit)] == [("Sala <b>Apolo</b>", "Barcelona")]
    assert await PressQuote.objects.filter(presskit=presskit).acount() == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_panel_takes_an_item_out_and_a_restart_clears_every_section(artist, open_chat):
    communicator, _ = await finished(open_chat, artist)
    await last_reply(communicator, {"action": "section", "section": "dates"})
    await last_reply(communicator, {"message": "14/02/2027, Sala Apolo, Barcelona"})
    await last_reply(communicator, {"message": "01/03/2027, Fabrik, Madrid"})
    await last_reply(communicator, {"action": "resume"})  # the box's "Listo"
    show = await Show.objects.filter(venue="Fabrik").afirst()
    await communicator.send_to(text_data=f'{{"action": "remove", "section": "dates", "item": "{show.pk}"}}')
    panel = await communicator.receive_from(5)
    assert "Fabrik" not in panel and "Sala Apolo" in panel and 'id="draft"' in panel
    await communicator.send_to(text_data=f'{{"action": "remove", "section": "dates", "item": "{show.pk}"}}')
    assert error_text(await communicator.receive_from(5)) == "Eso ya no estaba en tu presskit."
    await communicator.send_to(text_data='{"action": "remove", "section": "nope"}')
    assert error_text(await communicator.receive_from(5)) == "No reconozco esa acción."

    await last_reply(communicator, {"action": "section", "section": "rider"})
    await last_reply(communicator, {"message": "2 CDJ-3000 y una DJM-900NXS2"})
    _, frames = await last_reply(communicator, {"action": "section", "section": "rider"})  # change it: prefilled
    assert 'data-composer-text="2 CDJ-3000 y una DJM-900NXS2"' in frames[-1]
    await last_reply(communicator, {"action": "restart"})
    presskit = (await ChatSession.objects.select_related("presskit").aget(pk=artist.chat_id)).presskit
    assert presskit.rider_text == "" and not await Show.objects.filter(presskit=presskit).aexists()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_section_is_only_offered_once_the_seven_steps_are_done(artist, open_chat):
    communicator = await open_chat(artist)
    await answer(communicator, SEVEN_ANSWERS[0])
    frames = await send_and_collect(communicator, {"action": "section", "section": "dates"})
    assert error_text(frames[-1]).startswith("Primero completa los siete pasos")


@pytest.mark.django_db(transaction=True)
def test_without_javascript_a_section_is_added_through_the_form(artist):
    browser = Client(HTTP_COOKIE=artist.cookie)
    for text in SEVEN_ANSWERS:
        browser.post("/", {"message": text})
    assert browser.post("/", {"action": "section", "section": "sounds_like"}).status_code == 302
    browser.post("/", {"message": "Peggy Gou, Honey Dijon"})
    page = browser.get("/").content.decode()
    assert "Anotado: suenas a Peggy Gou, Honey Dijon." in page
    assert re.search(r'data-section="sounds_like">\s*<h4>Suena a</h4>\s*<ul class="sections__items">\s*<li><span>Peggy Gou', page)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_artist_picks_which_link_plays_on_the_page(artist, open_chat):
    communicator = await open_chat(artist)
    answers = [*SEVEN_ANSWERS[:5], "https://soundcloud.com/lunaroja https://youtu.be/dQw4w9WgXcQ", SEVEN_ANSWERS[6]]
    for text in answers:
        frames = await answer(communicator, text)
    panel = frames[-1]
    assert re.search(r"SoundCloud · soundcloud\.com/lunaroja</span>\s*<strong[^>]*>Suena en tu página</strong>", panel)
    await communicator.send_to(text_data='{"action": "player", "item": "1"}')
    panel = await communicator.receive_from(5)
    assert re.search(r"YouTube · youtu\.be/dQw4w9WgXcQ</span>\s*<strong[^>]*>Suena en tu página</strong>", panel)
    for item in ("0", "7", "x"):  # the first is SoundCloud: fine; the others are no link of theirs
        await communicator.send_to(text_data=f'{{"action": "player", "item": "{item}"}}')
        frame = await communicator.receive_from(5)
        assert ("No reconozco esa acción." == error_text(frame)) is (item != "0")
    await communicator.send_to(text_data='{"action": "player", "item": "1"}')
    await communicator.receive_from(5)
    frames = await send_and_collect(communicator, {"action": "publish", "HEADERS": {"HX-Request": "true"}})
    slug = re.search(r'href="/p/([a-z0-9-]+)/"', "".join(frames)).group(1)
    document = (await sync_to_async(Client(HTTP_HOST="localhost").get)(f"/p/{slug}.json")).json()
    assert document["player"]["kind"] == "youtube"
