"""The chat WebSocket: parse a frame, hand it to the conversation, send back fragments."""
from __future__ import annotations

import asyncio
import logging
import math

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils.translation import get_language_from_request
from redis.exceptions import RedisError

from chat import conversation, groups, rendering, throttle
from chat.db import in_database_pool
from resilience import overload
from resilience.degradation import BROADCAST_GROUP, Level, degradation_current
from chat.frames import CommandKind, FrameError, command_from_frame
from chat.selectors import OWNED_SESSIONS_KEY, SessionNotOwned, SessionUnknown, chat_session_get_owned, new_chat_id
from chat.services import InvalidAction
from presskit.clients import client_of_scope, request_of_scope

logger = logging.getLogger(__name__)

# Close codes for refused sockets (4000-4999 are the application's). The browser does not
# reconnect after 4403/4404: the page explains and offers a reload. After 4013, "try again later"
# (the standard 1013 is one Daphne's autobahn refuses to send), it reconnects with its backoff.
CLOSE_SESSION_UNKNOWN = 4404
CLOSE_SESSION_NOT_OWNED = 4403
CLOSE_TRY_AGAIN_LATER = 4013
STILL_HERE_AFTER = 1.5  # seconds a typing bubble waits for its first word before the calm line
# Seconds a closed socket may spend leaving its groups and its client's count: well within
# Daphne's application_close_timeout (10 s), after which it kills the consumer and says so.
DISCONNECT_CLEANUP_SECONDS = 3.0


class SocketSink:
    """Streams a reply into the asking tab: a typing bubble the moment the turn starts, a calm
    line in it when the first word is slow (STILL_HERE_AFTER), then its words, at most one frame
    per CHAT_STREAM_FRAME_SECONDS (the first word at once; those that come meanwhile wait for the
    next frame, which a finished fragment never overtakes). Never raises: if the tab went away,
    the reply is still written, saved and shown when it reconnects."""

    def __init__(self, consumer: ChatConsumer) -> None:
        self.consumer = consumer
        self.started = False
        self.waiting: asyncio.Task | None = None  # the calm line, due if no word comes first
        self.interval = settings.CHAT_STREAM_FRAME_SECONDS  # read once a turn, not once a word
        self.held: list[str] = []  # words waiting for the next frame
        self.frame_due: asyncio.Task | None = None  # sends them when the frame interval is over
        self.framed_at = -math.inf  # the loop's time of the last frame of words
        self.sending = asyncio.Lock()  # frames leave in the order they were made

    async def _send(self, html: str) -> None:
        async with self.sending:
            try:
                await self.consumer.send(text_data=html)
            except Exception:
                logger.info("chat tab went away mid-reply (session %s)", self.consumer.session_id)

    async def typing(self) -> None:
        if not self.started:
            self.started = True
            await self._send(rendering.render_stream_start(self.consumer.language))
            self.waiting = asyncio.create_task(self._still_here())

    async def _still_here(self) -> None:
        await asyncio.sleep(STILL_HERE_AFTER)
        await self._send(rendering.render_stream_wait(self.consumer.language))

    def _stop_waiting(self) -> None:
        if self.waiting is not None:
            self.waiting.cancel()
            self.waiting = None

    def turn_over(self) -> None:
        """However the turn ended (a reply, a refusal, an error, the socket closing): no calm line
        and no frame timer after it. Its words are out by then: every ending but a closed socket
        shows a fragment, which sends them first."""
        self._stop_waiting()
        self._frame_cancelled()

    async def token(self, text: str) -> None:
        await self.typing()
        self._stop_waiting()  # the words replace the calm line (the bubble's CSS hides it)
        self.held.append(text)
        if self.frame_due is not None:  # a frame is on its way: these words go with it
            return
        wait = self.framed_at + self.interval - asyncio.get_running_loop().time()
        if wait <= 0:
            await self._words_sent()
        else:
            self.frame_due = asyncio.create_task(self._words_sent_after(wait))

    async def _words_sent_after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        self.frame_due = None
        await self._words_sent()

    def _frame_cancelled(self) -> None:
        if self.frame_due is not None:
            self.frame_due.cancel()
            self.frame_due = None

    async def _words_sent(self) -> None:
        """The words held, in one frame, now."""
        self._frame_cancelled()
        if self.held:
            text, self.held = "".join(self.held), []
            self.framed_at = asyncio.get_running_loop().time()
            await self._send(rendering.render_stream_token(text))

    async def discard(self) -> None:
        """The words so far go; the next provider's come into a new bubble, typing at once."""
        self._stop_waiting()
        self._frame_cancelled()
        self.held, self.framed_at = [], -math.inf  # the next provider's first word goes at once
        self.started = False
        await self._send(rendering.render_stream_discard())
        await self.typing()

    async def show(self, html: str) -> None:
        self._stop_waiting()
        await self._words_sent()
        await self._send(html)


def _state_frame(session) -> str:
    """The whole chat state at the service level of now: read after the socket joined the
    broadcasts, so a later change reaches it as one (and in the same thread hop as the render)."""
    return rendering.render_state(session, degradation_current().level)


class NoSuchSocketConsumer(AsyncWebsocketConsumer):
    """A socket path we do not serve: accepted, then closed as an unknown chat."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_SESSION_UNKNOWN, reason="session_unknown")


class ChatConsumer(AsyncWebsocketConsumer):
    session_id: str | None = None
    language: str = settings.LANGUAGE_CODE
    counted: asyncio.Task | None = None  # renews this socket's place among its client's and chat's open ones

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch but for its `aclose_old_connections()` before every event: a hop
        through Channels' one thread-sensitive thread for each frame, fragment and broadcast, all
        the process's sockets in one queue (a third of a 5,000-socket broadcast's time). This
        consumer touches the database only in chat.db's threads, which close their own."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        # Accept, then close with a reason: a refused handshake makes browsers retry in a loop.
        await self.accept()
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        self.client = client_of_scope(self.scope)
        self.language = get_language_from_request(request_of_scope(self.scope))  # the chat's, once read
        if overload.shedding("socket"):  # this process is swamped: the page retries 4013 by itself
            await self._refuse("overloaded", CLOSE_TRY_AGAIN_LATER)
            return
        if not await throttle.socket_open(self.client, self.channel_name):
            # The page retries 4013 with a growing backoff: a tab closed elsewhere frees a place.
            await self._refuse("too_many_sockets", CLOSE_TRY_AGAIN_LATER)
            return
        self.counted = asyncio.create_task(self._kept_counted())
        try:
            session = await in_database_pool(self._owned_session)(session_id)
            self.session_id = str(session.pk)
            self.language = session.language
            await self._groups_joined()
            await self.send(text_data=await in_database_pool(_state_frame)(session))
        except SessionUnknown:
            await self._refuse("session_unknown", CLOSE_SESSION_UNKNOWN)
        except SessionNotOwned:
            await self._refuse("session_not_yours", CLOSE_SESSION_NOT_OWNED)
        except Exception:
            # Database or Redis trouble: "try again later", which the page retries with backoff.
            logger.exception("chat connect failed (session %s)", session_id)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)

    def _owned_session(self, session_id: str):
        owned = self.scope["session"].get(OWNED_SESSIONS_KEY, []) if "session" in self.scope else []
        return chat_session_get_owned(session_id=session_id, owned_ids=owned,
                                      new_id=new_chat_id(request_of_scope(self.scope)), language=self.language)

    async def _kept_counted(self) -> None:
        """While the socket is open, its entries among its client's sockets, its chat's tabs and
        in its groups are renewed (a process that dies leaves entries that expire: the groups'
        after CHANNEL_LAYERS' group_expiry)."""
        while True:
            await asyncio.sleep(throttle.SOCKET_COUNT_REFRESH)
            await throttle.socket_open(self.client, self.channel_name)
            if self.session_id:
                try:
                    await self._groups_joined()
                except Exception as error:  # noqa: BLE001 - tried again next time, well within the expiry
                    logger.warning("chat socket's groups not renewed (chat %s): %s", self.session_id,
                                   type(error).__name__)

    async def _groups_joined(self) -> None:
        """Join (or renew) the chat's group, its listing among the chat's tabs, and the broadcasts."""
        await self.channel_layer.group_add(groups.group_name(self.session_id), self.channel_name)
        await groups.tab_open(self.session_id, self.channel_name)  # in the group first, then listed
        await self.channel_layer.group_add(BROADCAST_GROUP, self.channel_name)

    async def _refuse(self, code: str, close_code: int) -> None:
        await self.send(text_data=rendering.render_error(code, self.language))
        await self.close(code=close_code, reason=code)

    async def disconnect(self, code: int) -> None:
        if self.counted is not None:
            self.counted.cancel()
        cleanup = [throttle.socket_closed(self.client, self.channel_name)] if self.counted is not None else []
        if self.session_id:
            cleanup += [groups.tab_closed(self.session_id, self.channel_name),
                        self.channel_layer.group_discard(groups.group_name(self.session_id), self.channel_name),
                        self.channel_layer.group_discard(BROADCAST_GROUP, self.channel_name)]
        try:  # at once, and bounded: what is not undone here expires by itself (counts, group entries)
            async with asyncio.timeout(DISCONNECT_CLEANUP_SECONDS):
                await asyncio.gather(*cleanup)
        except (TimeoutError, RedisError) as error:  # RedisError: e.g. no free connection when thousands close at once
            logger.info("closed socket's cleanup left to expire (chat %s, Redis: %s)", self.session_id,
                        type(error).__name__)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.session_id:
            return
        sink = SocketSink(self)
        try:
            command = command_from_frame(text_data, bytes_data, max_bytes=settings.CHAT_MAX_FRAME_BYTES)
            await conversation.command_handle(
                session_id=self.session_id, command=command, sink=sink, origin=self.channel_name,
                language=self.language,
            )
        except conversation.TooFast as error:
            # A message goes back into the composer; an edit in the review stays in its own box.
            restore = command.text if command.kind is CommandKind.MESSAGE else ""
            await sink.show(rendering.render_error(error.code, self.language, restore=restore))
        except (FrameError, InvalidAction, conversation.ServiceReadOnly) as error:
            await sink.show(rendering.render_error(error.code, self.language))
        except Exception:
            # The answer is saved before anything that can fail here; say so and keep the socket.
            # Through the sink: the words of a reply it still holds go first.
            logger.exception("chat turn failed (session %s)", self.session_id)
            await sink.show(rendering.render_error("internal", self.language))
        finally:
            sink.turn_over()

    async def degradation_changed(self, event: dict) -> None:
        """The service level changed: the banner, status and placeholder change live."""
        if self.session_id:
            await self.send(text_data=rendering.render_service(Level(event["level"]), self.language))

    async def chat_fragments(self, event: dict) -> None:
        """A fragment published by another tab (or form post) of the same chat."""
        if event.get("origin") != self.channel_name:
            await self.send(text_data=event["html"])
