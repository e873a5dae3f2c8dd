"""A chat is stored on its artist's first answer, never on a page load: the page's chat belongs
to its browser through a signed cookie until then, over the WebSocket as over the form; answers
kept during an outage store it when replayed; beat removes the unanswered drafts older
releases left behind."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient
from django.utils import timezone

from chat.models import ChatMessage, ChatSession
from chat.pending import pending_answers_replay
from chat.selectors import NEW_CHAT_COOKIE
from chat.services import chat_session_create
from chat.tasks import remove_unanswered_chats
from presskit.models import Presskit, PresskitVersion, PressPhoto
from resilience import degradation
from resilience.degradation import Level, degradation_force, degradation_release
from tests.conftest import HOST, ORIGIN, answer, communicators_closed, error_text, message_texts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def own_levels(settings):
    settings.RESILIENCE_KEY_PREFIX = f"test-new-chat-{uuid.uuid4().hex[:10]}"
    settings.REDIS_KEY_PREFIX = f"test-new-chat-kept-{uuid.uuid4().hex[:10]}"
    degradation.reset_manager()
    yield
    degradation.reset_manager()


async def page_of(client: AsyncClient, language: str = "es") -> tuple[str, str]:
    """GET / as a browser does: the chat id the page connects to, and the page."""
    page = (await client.get("/", headers={"accept-language": language})).content.decode()
    return re.search(r'ws-connect="/ws/chat/([0-9a-f-]+)/"', page).group(1), page


def cookie_header(client: AsyncClient) -> bytes:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items()).encode()


@pytest_asyncio.fixture
async def socket():
    from presskit.asgi import application

    opened: list[WebsocketCommunicator] = []

    async def _open(chat_id: str, cookie: bytes = b"", language: bytes = b"es-ES,es;q=0.9") -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(application, f"/ws/chat/{chat_id}/", headers=[
            (b"host", HOST), (b"origin", ORIGIN), (b"cookie", cookie), (b"accept-language", language)])
        opened.append(communicator)
        await communicator.connect(timeout=5)
        return communicator

    yield _open
    await communicators_closed(opened)


@pytest.mark.asyncio
async def test_the_page_s_chat_is_stored_by_its_first_answer_over_the_socket(socket):
    browser = AsyncClient()
    chat_id, _ = await page_of(browser)
    communicator = await socket(chat_id, cookie_header(browser))
    state = await communicator.receive_from(5)
    assert "¿cuál es tu nombre artístico?" in state and 'id="progress"' in state
    assert not await ChatSession.objects.filter(pk=chat_id).aexists()

    frames = await answer(communicator, "Luna Roja")
    assert "Luna Roja" in message_texts(frames[0])
    chat = await ChatSession.objects.select_related("presskit").aget(pk=chat_id)
    assert chat.presskit.artist_name == "Luna Roja" and chat.current_step == 2 and chat.language == "es"
    roles = [m.role async for m in ChatMessage.objects.filter(session=chat)]
    assert roles == ["assistant", "user", "assistant"]  # the greeting the page showed, stored first

    # The reload finds it (and claims it for the browser's session), in the same step.
    again, page = await page_of(browser)
    assert again == chat_id and "Paso 2 de 7" in page and "Luna Roja" in page


@pytest.mark.asyncio
async def test_an_english_page_s_chat_is_stored_in_english(socket):
    browser = AsyncClient()
    chat_id, page = await page_of(browser, "en")
    assert "Step 1 of 7" in page
    communicator = await socket(chat_id, cookie_header(browser), language=b"en-GB,en;q=0.9")
    assert "Step 1 of 7" in await communicator.receive_from(5)
    await answer(communicator, "Luna Roja")
    chat = await ChatSession.objects.aget(pk=chat_id)
    greeting = await ChatMessage.objects.filter(session=chat).afirst()
    assert chat.language == "en" and "artist name" in greeting.text


@pytest.mark.asyncio
async def test_a_not_yet_stored_chat_is_only_its_own_browser_s(socket):
    owner, stranger = AsyncClient(), AsyncClient()
    chat_id, _ = await page_of(owner)
    await page_of(stranger)  # a cookie of its own, for another chat
    for cookie in (b"", cookie_header(stranger), f"{NEW_CHAT_COOKIE}={chat_id}".encode()):  # none, other, unsigned
        communicator = await socket(chat_id, cookie)
        assert error_text(await communicator.receive_from(5)).startswith("Esta conversación no existe")
        assert (await communicator.receive_output(5))["code"] == 4404
    assert not await ChatSession.objects.filter(pk=chat_id).aexists()


@pytest.mark.asyncio
async def test_before_any_answer_an_action_says_to_answer_first(socket):
    browser = AsyncClient()
    chat_id, _ = await page_of(browser)
    communicator = await socket(chat_id, cookie_header(browser))
    await communicator.receive_from(5)
    await communicator.send_to(text_data=json.dumps({"action": "edit", "step": 1}))
    assert error_text(await communicator.receive_from(5)).startswith("Todavía no has respondido nada")
    assert not await ChatSession.objects.filter(pk=chat_id).aexists()


@pytest.mark.asyncio
async def test_a_first_answer_kept_during_minimal_stores_the_chat_when_replayed(socket):
    browser = AsyncClient()
    chat_id, _ = await page_of(browser, "en")
    communicator = await socket(chat_id, cookie_header(browser), language=b"en")
    await communicator.receive_from(5)
    await sync_to_async(degradation_force)(level=Level.MINIMAL, reason="database failover")
    await communicator.send_to(text_data=json.dumps({"message": "Luna Roja"}))
    while 'data-state="pending"' not in (frame := await communicator.receive_from(5)):
        pass  # the level's change first
    assert "Kept: it will be applied by itself" in frame
    assert not await ChatSession.objects.filter(pk=chat_id).aexists()

    await sync_to_async(degradation_release)(reason="database back")
    assert await sync_to_async(pending_answers_replay)() == 1
    chat = await ChatSession.objects.select_related("presskit").aget(pk=chat_id)
    assert chat.language == "en" and chat.presskit.artist_name == "Luna Roja" and chat.current_step == 2


def _draft(*, age: timedelta, answered: bool = False, photo: dict | None = None) -> str:
    chat = chat_session_create(language="es")
    if answered:
        ChatMessage.objects.create(session=chat, role=ChatMessage.Role.USER, step=1, text="Luna Roja")
    if photo is not None:
        PressPhoto.objects.create(presskit_id=chat.presskit_id, **photo)
    ChatSession.objects.filter(pk=chat.pk).update(updated_at=timezone.now() - age)
    return str(chat.presskit_id)


def test_beat_removes_old_unanswered_drafts_and_keeps_every_other_one(settings):
    settings.UNANSWERED_CHATS_MAX_AGE = 24
    old = timedelta(days=2)
    junk = [_draft(age=old), _draft(age=old)]
    kept = [
        _draft(age=timedelta(hours=1)),  # a page left open this morning
        _draft(age=old, answered=True),
        _draft(age=old, photo={"name": "photos/luna.jpg"}),
        _draft(age=old, photo={"staged": "staging/luna.jpg"}),
    ]
    published = _draft(age=old)
    PresskitVersion.objects.create(presskit_id=published, number=1, document={"slug": "luna"})
    kept.append(published)

    assert remove_unanswered_chats.apply().get() == 2
    assert not Presskit.objects.filter(pk__in=junk).exists() and not ChatSession.objects.filter(presskit_id__in=junk)
    assert set(map(str, Presskit.objects.values_list("pk", flat=True))) == set(kept)
    assert "unanswered-chats-remove" in settings.CELERY_BEAT_SCHEDULE
