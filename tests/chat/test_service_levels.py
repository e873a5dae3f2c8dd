"""What each degradation level changes for an artist, through the chat's own doors: the banner
pushed live to an open chat, answers kept during MINIMAL and replayed after, the EMERGENCY
status page, templates only while staff set AI aside, and chaos drills."""
from __future__ import annotations

import json
import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chat.models import ChatMessage, ChatSession
from chat.kept import pending_answers_count
from chat.pending import pending_answers_replay
from resilience import degradation
from resilience.chaos import chaos_start
from resilience.degradation import Level, degradation_force, degradation_release
from tests.conftest import answer, error_text, message_texts

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

BANNER = "Usando modo de respaldo para garantizar el servicio. La funcionalidad completa se restaurará automáticamente."


@pytest.fixture(autouse=True)
def own_levels(settings):
    """A Redis namespace of this test's own, so levels forced here stay here."""
    settings.RESILIENCE_KEY_PREFIX = f"test-levels-{uuid.uuid4().hex[:10]}"
    settings.REDIS_KEY_PREFIX = f"test-kept-{uuid.uuid4().hex[:10]}"  # kept answers of this test only
    degradation.reset_manager()
    yield
    degradation.reset_manager()


async def banner_frame(communicator) -> str:
    while True:
        frame = await communicator.receive_from(5)
        if 'id="degraded-banner"' in frame:
            return frame


async def test_a_level_change_is_pushed_live_to_an_open_chat(artist, open_chat):
    communicator = await open_chat(artist)
    await sync_to_async(degradation_force)(level=Level.LIMITED, reason="maintenance drill")
    frame = await banner_frame(communicator)
    assert BANNER in frame and " hidden" not in frame.split(">")[0]
    assert 'data-connection="Modo respaldo activo"' in frame
    assert 'data-placeholder="Modo respaldo activo: funcionalidad básica disponible"' in frame

    await sync_to_async(degradation_release)(reason="drill over")
    frame = await banner_frame(communicator)
    assert 'data-level="optimal"' in frame and 'data-connection="Conexión estable"' in frame
    assert "hidden" in frame.split(">")[0]  # the banner is gone


async def test_the_level_is_part_of_the_state_sent_on_connect(artist, open_chat, connect):
    await sync_to_async(degradation_force)(level=Level.DEGRADED, reason="redis maintenance")
    communicator, _, _ = await connect(artist)
    state = await communicator.receive_from(5)
    assert BANNER in state and 'data-level="degraded"' in state


async def test_while_staff_set_ai_aside_replies_come_from_templates(fake_llm, artist, open_chat):
    await sync_to_async(degradation_force)(level=Level.LIMITED, reason="AI maintenance")
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna Roja")
    assert 'data-provider="template"' in frames[-1] and 'data-fallback="true"' in frames[-1]
    assert fake_llm.requests() == []


async def test_during_minimal_answers_are_kept_and_replayed_when_writes_return(artist, open_chat):
    await sync_to_async(degradation_force)(level=Level.MINIMAL, reason="database failover")
    communicator, other_tab = await open_chat(artist), await open_chat(artist)
    await communicator.send_to(text_data=json.dumps({"message": "Luna Roja"}))
    kept = await communicator.receive_from(5)  # in the transcript at once, as pending
    assert message_texts(kept) == ["Luna Roja"] and 'data-state="pending"' in kept
    assert "Guardada: se aplicará sola en cuanto vuelva el servicio." in kept
    assert kept == await other_tab.receive_from(5)  # every tab of the chat shows it
    kept_id = re.search(r'id="kept-([0-9a-f]+)"', kept).group(1)
    await communicator.send_to(text_data=json.dumps({"action": "edit", "step": 1}))
    assert error_text(await communicator.receive_from(5)).startswith("Editar, empezar de nuevo y publicar esperan")
    assert await sync_to_async(pending_answers_count)() == 1
    assert not await ChatMessage.objects.filter(session_id=artist.chat_id, role="user").aexists()
    reloaded = await sync_to_async(Client(HTTP_COOKIE=artist.cookie).get)("/")  # a reload still shows it pending
    assert f'id="kept-{kept_id}"' in reloaded.content.decode()

    await sync_to_async(degradation_release)(reason="database back")
    assert await sync_to_async(pending_answers_replay)() == 1
    session = await ChatSession.objects.select_related("presskit").aget(pk=artist.chat_id)
    assert session.presskit.artist_name == "Luna Roja" and session.current_step == 2
    frames = [await other_tab.receive_from(5) for _ in range(3)]  # level change, then the turn
    saved = next(frame for frame in frames if "Luna Roja" in frame)  # the pending bubble turns into the saved one
    assert f'hx-swap-oob="outerHTML:#kept-{kept_id}"' in saved and 'data-state="pending"' not in saved
    assert any("Paso 2 de 7" in frame for frame in frames)
    assert await sync_to_async(pending_answers_count)() == 0


async def test_kept_answers_wait_while_writes_are_still_impossible(artist, open_chat):
    await sync_to_async(degradation_force)(level=Level.MINIMAL, reason="database failover")
    communicator = await open_chat(artist)
    await communicator.send_to(text_data=json.dumps({"message": "Luna Roja"}))
    await communicator.receive_from(5)
    assert await sync_to_async(pending_answers_replay)() == 0
    assert await sync_to_async(pending_answers_count)() == 1


async def test_emergency_shows_the_status_page():
    await sync_to_async(degradation_force)(level=Level.EMERGENCY, reason="everything is on fire")
    response = await sync_to_async(Client().get)("/")
    page = response.content.decode()
    assert response.status_code == 503
    assert "Volvemos enseguida" in page and 'id="degraded-banner"' in page and "/readyz" in page


async def test_a_chaos_drill_makes_a_provider_fail_for_real(fake_llm, artist, open_chat):
    await sync_to_async(chaos_start)(provider="openai", seconds=30, started_by="test")
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna Roja")
    assert 'data-provider="anthropic"' in frames[-1]
    assert [r["target"] for r in fake_llm.requests()] == ["anthropic"]  # openai was not even called
    assert message_texts(frames[-1])[-1].startswith("¡Gracias!")



async def test_kept_answers_come_first_when_the_artist_writes_again(artist, open_chat):
    await sync_to_async(degradation_force)(level=Level.MINIMAL, reason="database failover")
    communicator = await open_chat(artist)
    for text in ("Luna Roja", "house, techno"):
        await communicator.send_to(text_data=json.dumps({"message": text}))
        assert 'data-state="pending"' in await communicator.receive_from(5)
    await sync_to_async(degradation_release)(reason="database back")
    frames = await answer(communicator, "desde 2014")  # the two kept ones are applied first
    assert "Paso 4 de 7" in frames[-1]
    session = await ChatSession.objects.select_related("presskit").aget(pk=artist.chat_id)
    presskit = session.presskit
    assert (presskit.artist_name, presskit.genres, presskit.experience) == ("Luna Roja", ["house", "techno"], "desde 2014")


async def test_a_kept_answer_is_never_applied_twice(artist):
    from chat.kept import pending_answer_keep
    from chat.pending import _apply

    await sync_to_async(pending_answer_keep)(session_id=artist.chat_id, text="Luna Roja", language="es")
    entry = {"id": "0" * 32, "text": "Luna Roja"}
    assert await sync_to_async(_apply)(artist.chat_id, entry) is not None
    assert await sync_to_async(_apply)(artist.chat_id, entry) is None  # e.g. redelivered after a crash
    assert await ChatMessage.objects.filter(session_id=artist.chat_id, role="user").acount() == 1


async def test_an_answer_sent_as_the_database_fails_is_kept_not_lost(artist, open_chat, monkeypatch):
    from django.db import OperationalError

    from chat import services

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    communicator = await open_chat(artist)
    monkeypatch.setattr(services, "answer_submit", database_gone)
    await communicator.send_to(text_data=json.dumps({"message": "Luna Roja"}))
    kept = await communicator.receive_from(5)
    assert 'data-state="pending"' in kept and message_texts(kept) == ["Luna Roja"]
    assert await sync_to_async(pending_answers_count)(artist.chat_id) == 1
