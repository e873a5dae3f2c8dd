"""Shared fixtures. The suite runs on real Redis (REDIS_URL, embedded by `make test` when unset)
and on the database named by DATABASE_URL (SQLite by default). A missing service fails the run."""
from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from html import unescape
from importlib import import_module

import pytest
import pytest_asyncio
import redis
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.management import call_command

from chat import services
from chat.selectors import CURRENT_SESSION_KEY, OWNED_SESSIONS_KEY


def pytest_configure(config: pytest.Config) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        raise pytest.UsageError(f"Redis at REDIS_URL={settings.REDIS_URL} is unreachable: {error}") from error
    # The suite owns the Redis database it is given: start from a clean one.
    client.flushdb()
    client.close()


@pytest.fixture(scope="session", autouse=True)
def collected_static() -> None:
    """The pages use the hashed names of collected static files, as in production."""
    call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(autouse=True)
def instant_template_replies(settings) -> None:
    """Replies written at once, a frame per word (tests/chat/test_stream_frames.py sets its own
    frame interval; servers started by a test keep the default: tests.servers)."""
    settings.CHAT_TEMPLATE_TOKEN_DELAY = 0
    settings.CHAT_STREAM_FRAME_SECONDS = 0


@pytest.fixture(autouse=True)
def no_chat_limits(settings) -> None:
    """A test answers faster than any artist and starts many chats from 127.0.0.1: the limits
    and load shedding are off, except in tests/security/test_chat_limits.py and the shedding
    tests, which set their own (servers started by a test get the same:
    tests.servers.server_environment)."""
    settings.CHAT_TURN_LIMITS = ""
    settings.CLIENT_CHATS_LIMIT = ""
    settings.CLIENT_SOCKETS_MAX = 1_000_000
    settings.LOAD_SHED_LAG_MS = 0  # a busy CI machine is not an overloaded server (see shedding_on)


@pytest.fixture
def shedding_on(settings) -> None:
    """Load shedding as in production, on a smaller scale: past 30 ms of lag, timed every 10 ms
    (so that swamp() sheds while the loop still serves the chats already open)."""
    settings.LOAD_SHED_LAG_MS = 30
    settings.LOAD_SHED_SAMPLE_SECONDS = 0.01


async def swamp(seconds: float) -> None:
    """Block the event loop in 60 ms stretches, as CPU-bound work would, letting everything else
    in the loop (its timers, other requests) run between them."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        time.sleep(0.06)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Artist:
    """A browser that owns one chat: its session cookie and its chat's id."""

    chat_id: str
    session_key: str

    @property
    def cookie(self) -> str:
        return f"{settings.SESSION_COOKIE_NAME}={self.session_key}"


def make_artist(language: str = "es") -> Artist:
    chat = services.chat_session_create(language=language)
    browser_session = import_module(settings.SESSION_ENGINE).SessionStore()
    browser_session[OWNED_SESSIONS_KEY] = [str(chat.pk)]
    browser_session[CURRENT_SESSION_KEY] = str(chat.pk)
    browser_session.save()
    return Artist(chat_id=str(chat.pk), session_key=browser_session.session_key)


@pytest.fixture
def artist(transactional_db) -> Artist:
    return make_artist()


@pytest.fixture
def other_artist(transactional_db) -> Artist:
    return make_artist()


HOST = b"localhost"  # the page is http://localhost: its own origin
ORIGIN = b"http://" + HOST


@pytest_asyncio.fixture
async def connect() -> AsyncIterator[Callable[..., object]]:
    """Open chat sockets through the full ASGI stack (origin check, session, Redis layer)."""
    from presskit.asgi import application

    opened: list[WebsocketCommunicator] = []

    async def _connect(artist: Artist, chat_id: str | None = None, origin: bytes = ORIGIN):
        communicator = WebsocketCommunicator(
            application,
            f"/ws/chat/{chat_id or artist.chat_id}/",
            headers=[(b"host", HOST), (b"origin", origin), (b"cookie", artist.cookie.encode())],
        )
        opened.append(communicator)
        connected, close_code = await communicator.connect(timeout=5)
        return communicator, connected, close_code

    yield _connect
    await communicators_closed(opened)


async def communicators_closed(opened: list[WebsocketCommunicator]) -> None:
    """A fixture's sockets disconnected at teardown. A receive that timed out has cancelled its
    application already (asgiref): its disconnect would raise CancelledError, a BaseException,
    which stops pytest's teardown and leaves that test's settings, patches and event loop to every
    later test."""
    for communicator in opened:
        if not communicator.future.cancelled():
            await communicator.disconnect()


@pytest_asyncio.fixture
async def open_chat(connect) -> Callable[..., object]:
    """A connected chat socket whose initial state frame has been read."""

    async def _open(artist: Artist) -> WebsocketCommunicator:
        communicator, connected, _ = await connect(artist)
        assert connected
        assert 'id="progress"' in await communicator.receive_from(5)
        return communicator

    return _open


_ERROR = re.compile(r'id="chat-error"[^>]*>([^<]+)</div>')
_TEXT = re.compile(r'<p class="msg__text"[^>]*>(.*?)</p>', re.DOTALL)


def error_text(frame: str) -> str:
    match = _ERROR.search(frame)
    return unescape(match.group(1)).strip() if match else ""


def message_texts(frame: str) -> list[str]:
    return [unescape(text) for text in _TEXT.findall(frame)]


def is_turn_end(frame: str) -> bool:
    """The last fragment of a turn carries the progress; a refused frame carries only an error."""
    return 'id="progress"' in frame or bool(error_text(frame))


async def send_and_collect(communicator: WebsocketCommunicator, payload: dict | str, timeout: float = 5) -> list[str]:
    await communicator.send_to(text_data=payload if isinstance(payload, str) else json.dumps(payload))
    frames = []
    while True:
        frames.append(await communicator.receive_from(timeout))
        if is_turn_end(frames[-1]):
            return frames


async def answer(communicator: WebsocketCommunicator, text: str) -> list[str]:
    return await send_and_collect(communicator, {"message": text, "HEADERS": {"HX-Request": "true"}})
