"""The chat over its WebSocket, through the full ASGI stack on the Redis channel layer."""
from __future__ import annotations

import asyncio
import gc
import re
import time
from html import unescape

import pytest
import redis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError

from chat.models import ChatMessage, ChatSession
from tests.conftest import answer, error_text, make_artist, message_texts, send_and_collect

_TOKEN = re.compile(r'<span id="stream-text" hx-swap-oob="beforeend">(.*?)</span>', re.DOTALL)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SEVEN_ANSWERS = [
    "Luna Roja",
    "house, techno melódico",
    "desde 2014",
    "Madrid; salas y festivales de España",
    "Empecé pinchando los vinilos de mi padre en Vallecas y hoy toco en festivales.",
    "@lunaroja soundcloud.com/lunaroja",
    "booking@LunaRoja.com",
]


async def session_state(chat_id: str) -> ChatSession:
    return await ChatSession.objects.select_related("presskit").aget(pk=chat_id)


async def test_runs_on_the_redis_channel_layer():
    assert isinstance(get_channel_layer(), RedisChannelLayer)


async def test_connect_sends_the_current_state(artist, connect):
    communicator, connected, _ = await connect(artist)
    assert connected
    state = await communicator.receive_from(5)
    assert "Paso 1 de 7" in state
    assert any("¿cuál es tu nombre artístico?" in text for text in message_texts(state))


async def test_an_artist_completes_all_seven_steps(artist, open_chat):
    communicator = await open_chat(artist)
    for number, text in enumerate(SEVEN_ANSWERS, start=1):
        frames = await answer(communicator, text)
        expected = "Presskit completo" if number == 7 else f"Paso {number + 1} de 7"
        assert expected in frames[-1]
        assert 'data-provider="template"' in frames[-1]
        assert 'data-fallback="false"' in frames[-1]
    session = await session_state(artist.chat_id)
    presskit = session.presskit
    assert session.is_complete
    assert presskit.artist_name == "Luna Roja"
    assert presskit.genres == ["house", "techno melódico"]
    assert presskit.experience == "desde 2014"
    assert presskit.links == ["@lunaroja", "https://soundcloud.com/lunaroja"]
    assert presskit.booking_email == "booking@lunaroja.com"
    texts = [text for frame in frames for text in message_texts(frame) if text]
    assert "¡Listo, Luna Roja!" in texts[-2]
    # The bio ends the turn: with no AI provider configured, written from the answers.
    assert texts[-1].startswith("He preparado tu biografía")
    assert presskit.short_bio.startswith("Luna Roja es artista de house y techno melódico") and presskit.bio_source == "template"
    assert 'id="bios"' in frames[-1] and "Preparada con tus respuestas" in frames[-1]


async def test_reply_streams_token_by_token_before_the_final_message(artist, open_chat):
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna Roja")
    assert "Luna Roja" in frames[0]  # the artist's own message comes back first
    assert 'id="stream"' in frames[1] and 'aria-busy="true"' in frames[1]
    tokens = [unescape(token) for frame in frames for token in _TOKEN.findall(frame)]
    assert len(tokens) > 5
    final = message_texts(frames[-1])[-1]
    assert "Luna Roja" in final
    assert "".join(tokens).strip() == final


async def test_an_invalid_answer_is_asked_again_with_a_reason(artist, open_chat):
    communicator = await open_chat(artist)
    await answer(communicator, "Luna Roja")
    await answer(communicator, "house")
    frames = await answer(communicator, "mucho tiempo")
    reply = message_texts(frames[-1])[-1]
    assert reply.startswith("No he encontrado una duración ni un año")
    assert reply.endswith("¿Cuánto tiempo llevas en la música? Dime los años o desde qué año.")
    assert "Paso 3 de 7" in frames[-1]
    session = await session_state(artist.chat_id)
    assert session.current_step == 3
    # The invalid answer is kept in the transcript all the same.
    assert await ChatMessage.objects.filter(session_id=artist.chat_id, text="mucho tiempo").aexists()


async def test_an_earlier_answer_can_be_edited_and_the_chat_resumes(artist, open_chat):
    communicator = await open_chat(artist)
    for text in SEVEN_ANSWERS[:3]:
        await answer(communicator, text)
    frames = await send_and_collect(communicator, {"action": "edit", "step": "2"})
    assert "Vamos a cambiar «Géneros»" in message_texts(frames[-1])[-1]
    assert "Editando" in frames[-1]
    assert f'data-composer-text="{SEVEN_ANSWERS[1]}"' in frames[-1]  # the current answer, to change
    frames = await answer(communicator, "disco, funk")
    reply = message_texts(frames[-1])[-1]
    assert "«Géneros» ahora es disco, funk" in reply
    assert reply.endswith("¿Desde qué ciudad trabajas y dónde sueles tocar?")
    session = await session_state(artist.chat_id)
    assert session.presskit.genres == ["disco", "funk"]
    assert session.current_step == 4 and session.editing_step is None


async def test_an_edit_can_be_cancelled(artist, open_chat):
    communicator = await open_chat(artist)
    await answer(communicator, "Luna Roja")
    await send_and_collect(communicator, {"action": "edit", "step": 1})
    frames = await send_and_collect(communicator, {"action": "resume"})
    assert message_texts(frames[-1])[-1].startswith("Sigamos donde lo dejamos")
    session = await session_state(artist.chat_id)
    assert session.editing_step is None and session.presskit.artist_name == "Luna Roja"


async def test_restart_clears_the_draft_and_keeps_the_transcript(artist, open_chat):
    communicator = await open_chat(artist)
    await answer(communicator, "Luna Roja")
    frames = await send_and_collect(communicator, {"action": "restart"})
    assert "Paso 1 de 7" in frames[-1]
    session = await session_state(artist.chat_id)
    assert session.current_step == 1 and session.presskit.artist_name == ""
    assert await ChatMessage.objects.filter(session_id=artist.chat_id, text="Luna Roja").aexists()


async def test_a_reconnect_resumes_the_same_step_with_the_transcript(artist, connect, open_chat):
    communicator = await open_chat(artist)
    for text in SEVEN_ANSWERS[:4]:
        await answer(communicator, text)
    await communicator.disconnect()

    again, connected, _ = await connect(artist)
    assert connected
    state = await again.receive_from(5)
    assert "Paso 5 de 7" in state
    texts = message_texts(state)
    assert all(text in texts for text in SEVEN_ANSWERS[:4])
    frames = await answer(again, SEVEN_ANSWERS[4])
    assert "Paso 6 de 7" in frames[-1]


async def test_a_socket_closed_while_redis_has_no_free_connection_ends_quietly(artist, open_chat, monkeypatch, caplog):
    """Thousands of sockets closing at once can find the Redis pool empty: their group entries are
    left to expire, with no "Exception inside application" per socket."""
    communicator = await open_chat(artist)

    async def no_free_connection(self, group, channel):
        raise RedisConnectionError("No connection available.")

    monkeypatch.setattr(RedisChannelLayer, "group_discard", no_free_connection)
    await communicator.disconnect()  # raises what the consumer raised
    assert "left to expire" in caplog.text


def _redis_clients() -> int:
    # type(), not isinstance(): that would evaluate lazy objects other tests left behind
    return sum(issubclass(type(thing), redis.Redis) for thing in gc.get_objects())


async def test_open_sockets_share_the_process_redis_client(connect):
    """Not a client per socket (Django's caches are per asyncio context): 13 KB each, kept as long as the socket."""
    artists = [await sync_to_async(make_artist)() for _ in range(5)]
    before = _redis_clients()
    for artist in artists:
        communicator, connected, _ = await connect(artist)
        assert connected and 'id="progress"' in await communicator.receive_from(5)
    assert _redis_clients() <= before + 1  # the shared one, if no test made it yet


async def test_a_turn_never_waits_for_channels_shared_database_thread(artist, open_chat):
    """Channels' consumers hop through its one thread-sensitive thread before every event; the
    chat's database work has threads of its own, so that thread busy holds no chat up."""
    tab = await open_chat(artist)
    busy = asyncio.create_task(sync_to_async(time.sleep)(8))  # thread_sensitive: Channels' thread
    await asyncio.sleep(0.1)
    frames = await answer(tab, "Luna Roja")
    assert "Paso 2 de 7" in frames[-1]
    assert not busy.done()
    await busy


async def test_a_second_tab_of_the_same_chat_sees_the_turn(artist, connect):
    first, _, _ = await connect(artist)
    second, _, _ = await connect(artist)
    await first.receive_from(5)
    await second.receive_from(5)
    await answer(first, "Luna Roja")
    seen = [await second.receive_from(5), await second.receive_from(5)]
    assert "Luna Roja" in seen[0]  # the artist's message, through the Redis group
    assert "Paso 2 de 7" in seen[1]  # the finished reply and progress (tokens go only to the asking tab)


async def test_when_the_other_tabs_cannot_be_told_the_turn_still_ends_and_is_saved(artist, open_chat, monkeypatch):
    from chat import conversation

    publish = conversation.group_publish
    calls = []

    async def first_fails(session_id, html, *, origin):
        calls.append(html)
        if len(calls) == 1:  # the answer's push to the other tabs: Redis blinked
            raise ConnectionError("channel layer away")
        await publish(session_id, html, origin=origin)

    monkeypatch.setattr(conversation, "group_publish", first_fails)
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna Roja")
    assert "Paso 2 de 7" in frames[-1] and "Luna Roja" in "".join(frames)  # the asking tab has it all
    roles = [role async for role in ChatMessage.objects.filter(session_id=artist.chat_id).values_list("role", flat=True)]
    assert roles == ["assistant", "user", "assistant"]  # greeting, the answer, and the reply: saved


async def test_after_completion_a_message_gets_a_helpful_reply(artist, open_chat):
    communicator = await open_chat(artist)
    for text in SEVEN_ANSWERS:
        await answer(communicator, text)
    frames = await answer(communicator, "¿y ahora qué?")
    assert "ya está completo" in message_texts(frames[-1])[-1]
    assert not error_text(frames[-1])
    assert 'data-placeholder="Tu presskit está completo: cambia cualquier respuesta' in frames[-1]


class _ProbeThenFail:
    """A chain member that records what was stored when it was asked, then fails mid-reply."""

    name = "probe"
    cacheable = False

    def __init__(self) -> None:
        self.seen: list[tuple[bool, str]] = []

    async def write(self, request, sink):
        message_saved = await ChatMessage.objects.filter(
            session_id=request.session_id, role=ChatMessage.Role.USER, text="Luna Roja"
        ).aexists()
        session = await session_state(request.session_id)
        self.seen.append((message_saved, session.presskit.artist_name))
        await sink.token("Hola, ")
        raise ConnectionError("provider went away mid-reply")


async def test_the_answer_is_saved_before_any_reply_and_a_broken_reply_is_replaced(artist, open_chat, monkeypatch):
    from chat import conversation
    from chat.chain import ProviderChain
    from chat.providers.template import TemplateResponder

    probe = _ProbeThenFail()
    monkeypatch.setattr(conversation, "chain_from_settings", lambda: ProviderChain([probe, TemplateResponder()]))
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna Roja")

    assert probe.seen == [(True, "Luna Roja")]
    discarded = [i for i, frame in enumerate(frames) if frame.strip() == '<div id="stream" class="stream" hx-swap-oob="true"></div>']
    assert discarded, "the half reply was discarded from the page"
    final = frames[-1]
    assert 'data-provider="template"' in final and 'data-fallback="true"' in final
    assert ">respaldo</button>" in final and "Esta respuesta viene del modo de respaldo" in final
    assert "Hola," not in message_texts(final)[-1]
    stored = await ChatMessage.objects.filter(session_id=artist.chat_id, role="assistant").alast()
    assert stored.provider == "template" and stored.fallback_used


async def test_a_reply_that_ends_after_another_tab_moved_on_shows_the_current_state(artist, open_chat, settings):
    settings.CHAT_TEMPLATE_TOKEN_DELAY = 0.03
    slow, other = await open_chat(artist), await open_chat(artist)
    await slow.send_to(text_data='{"message": "Luna Roja"}')
    assert "Luna Roja" in await slow.receive_from(5)  # saved; the reply starts streaming
    restart = await send_and_collect(other, {"action": "restart"})
    assert "Paso 1 de 7" in restart[-1]
    frames = []
    while not frames or 'id="progress"' not in frames[-1]:
        frames.append(await slow.receive_from(5))
    assert "Paso 1 de 7" in frames[-1]  # not the "Paso 2 de 7" it was when its turn began
