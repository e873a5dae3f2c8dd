"""The chat over its WebSocket with AI providers (the fake LLM server through the real SDKs):
when OpenAI hangs, the reply starts from Anthropic right after the first-token deadline; once
OpenAI's breaker is open, replies start at once without touching it; every request is logged."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from resilience.models import AIRecoveryAttempt, AIRequestLog
from tests.conftest import message_texts

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

FIRST_TOKEN_DEADLINE = 1.0
MARGIN = 0.6


async def timed_answer(communicator, text: str):
    """Send an answer; return the frames and the seconds until the reply's first token."""
    await communicator.send_to(text_data=json.dumps({"message": text}))
    sent, first_token, frames = time.monotonic(), None, []
    while not frames or 'id="progress"' not in frames[-1]:
        frames.append(await communicator.receive_from(10))
        if first_token is None and 'id="stream-text" hx-swap-oob="beforeend"' in frames[-1]:
            first_token = time.monotonic() - sent
    return frames, first_token


async def logged(turns: int) -> list[AIRequestLog]:
    """The log is written after the artist has the reply: wait for it a moment."""
    for _ in range(50):
        rows = [row async for row in AIRequestLog.objects.order_by("created_at", "id")]
        if len({row.turn_id for row in rows}) >= turns:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError("the AI request log was not written")


async def test_openai_hangs_anthropic_answers_then_openai_is_left_alone(fake_llm, settings, artist, open_chat):
    settings.AI_FIRST_TOKEN_TIMEOUT = FIRST_TOKEN_DEADLINE
    settings.BREAKER_OVERRIDES = '{"openai": {"failure_threshold": 1, "volume_threshold": 1}}'
    fake_llm.inject("openai", kind="hang")
    communicator = await open_chat(artist)

    frames, first_token = await timed_answer(communicator, "Luna Roja")
    assert FIRST_TOKEN_DEADLINE <= first_token < FIRST_TOKEN_DEADLINE + MARGIN
    assert 'data-provider="anthropic"' in frames[-1] and 'data-fallback="true"' in frames[-1]
    assert ">respaldo</button>" in frames[-1] and "Esta respuesta viene del modo de respaldo" in frames[-1]
    assert message_texts(frames[-1])[-1].startswith("¡Gracias! Lo tengo anotado. ¿Qué géneros")
    rows = await logged(turns=1)
    assert [(row.provider, row.status, row.error_code) for row in rows] == [
        ("openai", "timeout", "timeout_first_token"), ("anthropic", "success", "")]
    assert all(row.fallback_used for row in rows)

    touched = len(fake_llm.requests("openai"))
    frames, first_token = await timed_answer(communicator, "house, techno")
    assert first_token < MARGIN  # the breaker is open: no wait for OpenAI
    assert 'data-provider="anthropic"' in frames[-1]
    assert len(fake_llm.requests("openai")) == touched
    rows = await logged(turns=2)
    assert [(row.provider, row.status) for row in rows[2:]] == [("openai", "refused"), ("anthropic", "success")]
    assert await AIRecoveryAttempt.objects.filter(action="openai -> anthropic", success=True).acount() == 2


async def test_the_page_is_never_silent_while_the_providers_think(fake_llm, settings, artist, open_chat):
    """The typing bubble comes with the turn, not with the first word; a calm line after 1.5 s
    without one; then the reply in its place."""
    settings.AI_FIRST_TOKEN_TIMEOUT = 2.5
    fake_llm.inject("openai", kind="hang")
    communicator = await open_chat(artist)
    await communicator.send_to(text_data=json.dumps({"message": "Luna Roja"}))
    sent, seen = time.monotonic(), []
    while not seen or 'id="progress"' not in seen[-1][1]:
        frame = await communicator.receive_from(10)
        seen.append((time.monotonic() - sent, frame))
    typing_at = next(at for at, frame in seen if 'class="msg msg--assistant msg--streaming"' in frame)
    calm_at = next(at for at, frame in seen if "Un momento, sigo contigo" in frame)
    first_word_at = next(at for at, frame in seen if 'id="stream-text" hx-swap-oob="beforeend"' in frame)
    assert typing_at < 0.5  # with the artist's own message, not 2.5 s later
    assert 1.5 <= calm_at < 1.5 + MARGIN < first_word_at
    assert 'data-provider="anthropic"' in seen[-1][1]


async def test_a_broken_stream_is_replaced_cleanly_in_the_page(fake_llm, artist, open_chat):
    fake_llm.inject("openai", kind="cut_after", tokens=3)
    communicator = await open_chat(artist)
    frames, _ = await timed_answer(communicator, "Luna Roja")
    discards = [i for i, frame in enumerate(frames) if frame.strip() == '<div id="stream" class="stream" hx-swap-oob="true"></div>']
    assert discards and discards[0] < len(frames) - 1  # the half reply left the page before the new one
    final = message_texts(frames[-1])[-1]
    assert 'data-provider="anthropic"' in frames[-1]
    assert final.endswith("¿Qué géneros o estilos definen tu música? Puedes poner hasta cinco, separados por comas.")


async def test_a_stream_that_stalls_mid_answer_is_replaced_in_the_page_within_the_idle_deadline(
        fake_llm, artist, open_chat, settings):
    settings.AI_STREAM_IDLE_TIMEOUT = 1.0
    fake_llm.inject("openai", kind="stall_after", tokens=20)
    communicator = await open_chat(artist)
    started = time.monotonic()
    frames, _ = await timed_answer(communicator, "Luna Roja")
    waited = time.monotonic() - started
    assert 'data-provider="anthropic"' in frames[-1]
    assert any(frame.strip() == '<div id="stream" class="stream" hx-swap-oob="true"></div>' for frame in frames)
    assert waited < settings.AI_STREAM_IDLE_TIMEOUT + 2 * MARGIN + 1.0  # not the 10 s total deadline
    rows = await logged(turns=1)
    assert [(row.provider, row.error_code) for row in rows] == [("openai", "timeout_stream_idle"), ("anthropic", "")]


async def test_with_every_ai_provider_down_the_chat_goes_on_with_templates(fake_llm, artist, open_chat):
    for target in ("openai", "anthropic", "local"):
        fake_llm.inject(target, kind="status", code=503)
    communicator = await open_chat(artist)
    frames, _ = await timed_answer(communicator, "Luna Roja")
    assert 'data-provider="template"' in frames[-1] and 'data-fallback="true"' in frames[-1]
    assert "Paso 2 de 7" in frames[-1]
