"""Every answer fits its column (issue: "a 255–320-character booking email wedges the chat for
good"): validated against the column, refused with a clear reason; an answer kept during an
outage that no longer fits is replayed once (asked again), never replayed forever, and the chat
recovers. Only a connection that failed counts as an outage."""
from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from chat.models import ChatSession
from chat.kept import pending_answer_keep, pending_answers_count
from chat.pending import pending_answers_replay_chat
from chat.steps import InvalidAnswer, step_by_number
from presskit.models import Presskit
from tests.chat.test_consumer import SEVEN_ANSWERS
from tests.conftest import answer, error_text, message_texts

LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".es"  # 259 characters: Django's check allows it
TOO_LONG = {  # an answer one character over its column, otherwise valid
    1: "L" * 51,
    3: "desde 2014 " + "x" * 190,
    4: "M" * 201,
    5: "Empecé " + "x" * 1994,
    7: LONG_EMAIL,
}


@pytest.mark.parametrize("number", sorted(TOO_LONG))
def test_each_answer_is_validated_against_its_column(number):
    step = step_by_number(number)
    column = Presskit._meta.get_field(step.field).max_length
    assert len(TOO_LONG[number].strip()) > column
    with pytest.raises(InvalidAnswer):
        step.validate(TOO_LONG[number])


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_too_long_booking_email_is_asked_again_and_the_chat_goes_on(artist, open_chat):
    communicator = await open_chat(artist)
    for text in SEVEN_ANSWERS[:-1]:
        await answer(communicator, text)
    frames = await answer(communicator, LONG_EMAIL)
    assert "Ese email es demasiado largo (máximo 254 caracteres)" in " ".join(
        text for frame in frames for text in message_texts(frame))
    frames = await answer(communicator, "booking@lunaroja.com")
    assert "Presskit completo" in frames[-1]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_poisoned_kept_answer_is_replayed_once_and_the_chat_recovers(artist, open_chat, settings):
    settings.REDIS_KEY_PREFIX = f"test-poison-{artist.chat_id[:8]}"
    communicator = await open_chat(artist)
    for text in SEVEN_ANSWERS[:-1]:
        await answer(communicator, text)
    # Kept during an outage, before emails were checked against the column.
    await sync_to_async(pending_answer_keep)(session_id=artist.chat_id, text=LONG_EMAIL, language="es")
    assert await sync_to_async(pending_answers_replay_chat)(artist.chat_id) == 1
    assert await sync_to_async(pending_answers_count)(artist.chat_id) == 0  # never replayed again
    while not await communicator.receive_nothing(1):  # the replay's own fragments reach the open tab first
        await communicator.receive_from(5)
    frames = await answer(communicator, "booking@lunaroja.com")  # edits and answers work again
    assert "Presskit completo" in frames[-1] and not error_text(frames[-1])
    assert (await ChatSession.objects.aget(pk=artist.chat_id)).is_complete
