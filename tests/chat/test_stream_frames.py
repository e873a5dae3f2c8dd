"""A streamed reply reaches its tab in few frames (CHAT_STREAM_FRAME_SECONDS): its first word at
once, the words that come meanwhile together in the next frame; no word is lost, reordered or left
behind, the finished reply never overtakes its words, and a stream that stops shows what it had
before the next provider takes over."""
import re
from html import unescape

import pytest

from tests.chat.test_consumer_ai import timed_answer
from tests.conftest import answer, error_text, message_texts

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

_WORDS = re.compile(r'<span id="stream-text" hx-swap-oob="beforeend">(.*?)</span>', re.DOTALL)
DISCARD = '<div id="stream" class="stream" hx-swap-oob="true"></div>'


def word_frames(frames: list[str]) -> list[str]:
    return [unescape(words) for frame in frames for words in _WORDS.findall(frame)]


async def test_words_that_come_together_share_a_frame_and_the_first_goes_at_once(artist, open_chat, settings):
    settings.CHAT_STREAM_FRAME_SECONDS = 0.5  # the template responder writes every word at once
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna Roja")
    streamed = word_frames(frames)
    final = message_texts(frames[-1])[-1]
    assert len(final.split()) > 5
    assert streamed[0] == final.split()[0] + " "  # the first word did not wait for the others
    assert len(streamed) == 2  # the rest came in one frame, sent before the finished reply
    assert "".join(streamed).strip() == final
    assert _WORDS.search(frames[-1]) is None


async def test_with_no_interval_every_word_is_a_frame(artist, open_chat, settings):
    settings.CHAT_STREAM_FRAME_SECONDS = 0
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna Roja")
    final = message_texts(frames[-1])[-1]
    assert word_frames(frames) == re.findall(r"\S+\s*", final)


async def test_slow_words_are_not_held_back(artist, open_chat, settings):
    settings.CHAT_TEMPLATE_TOKEN_DELAY = 0.03
    settings.CHAT_STREAM_FRAME_SECONDS = 0.01  # shorter than the pause between words
    communicator = await open_chat(artist)
    frames = await answer(communicator, "Luna Roja")
    final = message_texts(frames[-1])[-1]
    assert word_frames(frames) == re.findall(r"\S+\s*", final)


async def test_words_held_when_a_stream_stalls_are_shown_before_the_next_provider_starts(
        fake_llm, artist, open_chat, settings):
    settings.CHAT_STREAM_FRAME_SECONDS = 0.2
    settings.AI_STREAM_IDLE_TIMEOUT = 1.0
    fake_llm.inject("openai", kind="stall_after", tokens=4)
    communicator = await open_chat(artist)
    frames, _ = await timed_answer(communicator, "Luna Roja")
    discarded = [frame.strip() for frame in frames].index(DISCARD)
    before = word_frames(frames[:discarded])
    assert len(before) == 2  # the first word at once, the three that came with it after the interval
    assert len("".join(before).split()) == 4
    assert 'data-provider="anthropic"' in frames[-1]
    assert "".join(word_frames(frames[discarded:])).strip() == message_texts(frames[-1])[-1]


async def test_after_a_broken_stream_the_next_providers_first_word_goes_at_once(fake_llm, artist, open_chat, settings):
    settings.CHAT_STREAM_FRAME_SECONDS = 0.5
    fake_llm.inject("openai", kind="cut_after", tokens=3)
    communicator = await open_chat(artist)
    frames, _ = await timed_answer(communicator, "Luna Roja")
    discarded = [frame.strip() for frame in frames].index(DISCARD)
    after = word_frames(frames[discarded:])
    final = message_texts(frames[-1])[-1]
    assert 'data-provider="anthropic"' in frames[-1]
    assert after[0] == final.split()[0] + " "  # not held for the broken stream's interval
    assert "".join(after).strip() == final


async def test_a_turn_that_fails_after_its_words_sends_them_before_the_error(artist, open_chat, settings, monkeypatch):
    from django.db import OperationalError

    from chat import services

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    settings.CHAT_STREAM_FRAME_SECONDS = 0.5
    communicator = await open_chat(artist)
    monkeypatch.setattr(services, "reply_record", database_gone)  # the reply cannot be stored
    await communicator.send_to(text_data='{"message": "Luna Roja"}')
    frames = []
    while not error_text(frames[-1] if frames else ""):
        frames.append(await communicator.receive_from(5))
    streamed = "".join(word_frames(frames))
    assert len(streamed.split()) > 5 and "Luna Roja" in streamed  # the whole reply, the held words too
    assert error_text(frames[-1]).startswith("Algo ha fallado")
    assert await communicator.receive_nothing(0.7)  # and nothing after it
