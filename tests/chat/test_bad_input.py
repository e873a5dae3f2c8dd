"""Bad input over the WebSocket gets a clear Spanish error; the socket and the data stay intact."""
from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from chat.models import ChatMessage, ChatSession
from tests.conftest import answer, error_text, make_artist, send_and_collect

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def named(open_chat, artist):
    """A chat past step 1, so a bad frame has data to (not) lose."""
    communicator = await open_chat(artist)
    await answer(communicator, "Luna Roja")
    return communicator


async def assert_intact(communicator, artist) -> None:
    """Nothing was lost and the same socket still works."""
    session = await ChatSession.objects.select_related("presskit").aget(pk=artist.chat_id)
    assert session.presskit.artist_name == "Luna Roja" and session.current_step == 2
    frames = await answer(communicator, "techno")
    assert "Paso 3 de 7" in frames[-1]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("this is not json", "No he podido leer tu mensaje"),
        ("[1, 2, 3]", "No he podido leer tu mensaje"),
        (json.dumps({"HEADERS": {"HX-Request": "true"}}), "No he recibido ninguna respuesta"),
        (json.dumps({"message": 42}), "No he recibido ninguna respuesta"),
        (json.dumps({"message": "   \n  "}), "Tu respuesta está vacía"),
        (json.dumps({"action": "dance"}), "No reconozco esa acción"),
        (json.dumps({"action": "edit", "step": "three"}), "Solo puedes editar pasos que ya has respondido"),
        (json.dumps({"action": "edit", "step": 5}), "Solo puedes editar pasos que ya has respondido"),
        (json.dumps({"action": "resume"}), "No estás editando ninguna respuesta"),
        (json.dumps({"message": "x" * (1024 * 1024)}), "Tu mensaje es demasiado largo"),
    ],
    ids=["not-json", "json-array", "no-message", "message-not-text", "empty", "unknown-action",
         "edit-bad-step", "edit-unanswered-step", "resume-without-edit", "one-megabyte"],
)
async def test_bad_frames_get_a_clear_error(artist, open_chat, frame, expected):
    communicator = await named(open_chat, artist)
    messages_before = await ChatMessage.objects.filter(session_id=artist.chat_id).acount()
    frames = await send_and_collect(communicator, frame)
    assert len(frames) == 1
    assert error_text(frames[0]).startswith(expected)
    assert await ChatMessage.objects.filter(session_id=artist.chat_id).acount() == messages_before
    await assert_intact(communicator, artist)


async def test_a_binary_frame_gets_a_clear_error(artist, open_chat):
    communicator = await named(open_chat, artist)
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert error_text(await communicator.receive_from(5)) == "Solo puedo leer mensajes de texto."
    await assert_intact(communicator, artist)


async def test_script_in_an_answer_is_escaped_in_every_fragment(artist, connect, open_chat):
    communicator = await open_chat(artist)
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    frames = await answer(communicator, f"DJ {hostile}"[:50])
    stored = (await ChatSession.objects.select_related("presskit").aget(pk=artist.chat_id)).presskit.artist_name
    assert "<script>" in stored  # kept as the artist typed it: it is data, not markup
    for frame in frames:
        assert "<script" not in frame and "<img" not in frame
    assert any("&lt;script&gt;" in frame for frame in frames)
    # And on reconnect, in the full state.
    again, _, _ = await connect(artist)
    state = await again.receive_from(5)
    assert "<script" not in state and "&lt;script&gt;" in state


async def test_control_characters_are_dropped(artist, open_chat):
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna\x00 Roja\x07")
    assert "Paso 2 de 7" in frames[-1]
    session = await ChatSession.objects.select_related("presskit").aget(pk=artist.chat_id)
    assert session.presskit.artist_name == "Luna Roja"


@pytest.mark.parametrize("chat_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
async def test_an_unknown_chat_is_refused_with_a_reason(artist, connect, chat_id):
    communicator, connected, _ = await connect(artist, chat_id=chat_id)
    assert connected  # accepted, then closed with a reason the page shows (no reconnect loop)
    assert error_text(await communicator.receive_from(5)).startswith("Esta conversación no existe")
    assert (await communicator.receive_output(5)) == {"type": "websocket.close", "code": 4404, "reason": "session_unknown"}


async def test_another_artists_chat_is_refused(artist, connect):
    other = await sync_to_async(make_artist)()
    communicator, _, _ = await connect(artist, chat_id=other.chat_id)
    assert error_text(await communicator.receive_from(5)).startswith("Esta conversación pertenece a otra persona")
    assert (await communicator.receive_output(5))["code"] == 4403
    # The other artist's chat is untouched.
    assert await ChatMessage.objects.filter(session_id=other.chat_id).acount() == 1


async def test_a_foreign_origin_is_refused(artist, connect):
    _, connected, _ = await connect(artist, origin=b"http://evil.example")
    assert not connected
