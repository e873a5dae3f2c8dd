"""Input meant to break things, through the doors it comes in by: a clear answer, nothing stored
that should not be, nothing logged as a crash. (The everyday bad frames: tests/chat/test_bad_input.py.)"""
from __future__ import annotations

import json
import logging

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed

from chat.models import ChatMessage, ChatSession
from tests.chat.test_bad_input import assert_intact, named
from tests.conftest import HOST, ORIGIN, answer, error_text, message_texts, send_and_collect
from tests.servers import BrowserLikeClient, database_url_of_test_db, server_environment, start_daphne

pytestmark = pytest.mark.django_db(transaction=True)


async def stored_messages(artist) -> int:
    return await ChatMessage.objects.filter(session_id=artist.chat_id).acount()


async def artist_name(artist) -> str:
    return (await ChatSession.objects.select_related("presskit").aget(pk=artist.chat_id)).presskit.artist_name


# --- Frames over the socket ------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_deeply_nested_frame_is_unreadable_not_a_crash(artist, open_chat, caplog):
    communicator = await named(open_chat, artist)
    with caplog.at_level(logging.ERROR):
        [frame] = await send_and_collect(communicator, "[" * 5000)
    assert error_text(frame).startswith("No he podido leer tu mensaje")
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    await assert_intact(communicator, artist)


@pytest.mark.asyncio
@pytest.mark.parametrize("values", [
    {"message": "x" * 2001},
    {"action": "set", "step": "1", "message": "x" * 2001},  # an answer edited in the review
], ids=["message", "edit-in-review"])
async def test_a_message_over_the_limit_is_refused_on_the_socket(artist, open_chat, values):
    communicator = await named(open_chat, artist)
    before = await stored_messages(artist)
    [frame] = await send_and_collect(communicator, json.dumps(values))
    assert error_text(frame).startswith("Tu mensaje es demasiado largo")
    assert await stored_messages(artist) == before
    await assert_intact(communicator, artist)


@pytest.mark.asyncio
@pytest.mark.parametrize(("typed", "stored"), [
    ("\u202eDJ evil", "DJ evil"),  # a bidi override would show it reversed
    ("Luna\u200b Roja\u2060", "Luna Roja"),  # zero-width space, word joiner
    ("Jose\u0301 Luis", "José Luis"),  # decomposed é: NFC, one name however it was typed
    ("DJ \U0001F469\u200d\U0001F3A4", "DJ \U0001F469\u200d\U0001F3A4"),  # the joiner of an emoji stays
    ("Gaita \U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F",  # a subdivision flag's tags stay
     "Gaita \U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"),
])
async def test_invisible_characters_are_dropped_and_names_normalised(artist, open_chat, typed, stored):
    communicator = await open_chat(artist)
    frames = await answer(communicator, typed)
    assert "Paso 2 de 7" in frames[-1]
    assert await artist_name(artist) == stored


@pytest.mark.asyncio
@pytest.mark.parametrize(("step_answers", "typed", "expected"), [
    ([], "\u200b\u200b\u200b", "Tu respuesta está vacía"),
    ([], "\u200d\u200c\u202e", "Tu respuesta está vacía"),
    (["Luna Roja"], "\u200b, \u200b", "Necesito al menos un género"),
], ids=["zero-width-name", "joiners-only-name", "zero-width-genres"])
async def test_answers_of_invisible_characters_only_are_refused(artist, open_chat, step_answers, typed, expected):
    communicator = await open_chat(artist)
    for text in step_answers:
        await answer(communicator, text)
    frames = await answer(communicator, typed)
    said = error_text(frames[-1]) or " ".join(message_texts("".join(frames)))  # a frame error, or the step's reply
    assert expected in said
    assert f"Paso {len(step_answers) + 1} de 7" in frames[-1] or not message_texts("".join(frames))


@pytest.mark.asyncio
@pytest.mark.parametrize("path", [f"/ws/chat/{'a' * 65}/", "/ws/chat/", "/ws/elsewhere/"])
async def test_a_socket_path_we_do_not_serve_is_refused_with_a_reason(artist, path):
    from presskit.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=[
        (b"host", HOST), (b"origin", ORIGIN), (b"cookie", artist.cookie.encode())])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    output = await communicator.receive_output(5)
    if output["type"] == "websocket.send":  # the chat's own refusal says why first
        assert error_text(output["text"]).startswith("Esta conversación no existe")
        output = await communicator.receive_output(5)
    assert output == {"type": "websocket.close", "code": 4404, "reason": "session_unknown"}
    await communicator.disconnect()


# --- The no-JavaScript form ----------------------------------------------------------------------
def form_client(artist) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.cookies[settings.SESSION_COOKIE_NAME] = artist.session_key
    return client


def test_the_form_counts_a_line_break_as_the_page_does(artist):
    """The page's maxlength counts a line break once; the form posts it as CRLF."""
    page = form_client(artist).post("/", {"message": "Luna\r\n" * 400})  # 2,400 sent, 2,000 typed
    assert "Tu mensaje es demasiado largo" not in page.content.decode()


def test_the_form_refuses_a_message_over_the_limit_and_keeps_nothing(artist):
    client = form_client(artist)
    page = client.post("/", {"message": "x" * 3000})
    assert page.status_code == 400 and "Tu mensaje es demasiado largo" in page.content.decode()
    assert ChatMessage.objects.filter(session_id=artist.chat_id, role="user").count() == 0
    assert 'maxlength="2000"' in client.get("/").content.decode()


# --- The staff API -------------------------------------------------------------------------------
@pytest.mark.parametrize("days", ["1000000", "9" * 5000])
def test_a_purge_older_than_any_date_is_a_clear_400(admin_client, days):
    response = admin_client.delete(f"/api/v1/ai/logs/?older_than_days={days}")
    assert response.status_code == 400 and "between 1 and 36500" in response.json()["error"]


# --- On a real Daphne ------------------------------------------------------------------------------
@pytest.mark.subprocess
def test_a_frame_over_daphnes_limit_closes_with_1009_and_a_reason(artist):
    server, base_url = start_daphne(server_environment(DATABASE_URL=database_url_of_test_db()))
    try:
        browser = BrowserLikeClient(base_url)
        _, chat_id = browser.open_page()
        with browser.open_socket(chat_id) as socket:
            socket.recv(timeout=10)  # the state
            socket.send(json.dumps({"message": "x" * (1024 * 1024 + 1)}))
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    socket.recv(timeout=10)
        assert closed.value.rcvd is not None, "the connection was dropped without a close frame"
        assert closed.value.rcvd.code == 1009 and "exceeds payload limit" in closed.value.rcvd.reason
        # A chat id too long for any chat, and a path with no route: refusals, not a 500 at
        # the handshake.
        for path in (f"/ws/chat/{'a' * 65}/", "/ws/elsewhere/"):
            with browser.open_path(path) as socket:
                with pytest.raises(ConnectionClosed) as refused:
                    while True:
                        socket.recv(timeout=10)
            assert refused.value.rcvd.code == 4404, path
        assert "Traceback" not in server.output
    finally:
        server.stop()
