"""The bare Channels floor of the chat (issue 19): what Daphne, channels-redis and Postgres cost
with nothing of the product on top, for bench/chat_load.py --target floor.

    .venv/bin/python bench/chat_load.py --target floor --artists 150

chat_load.py serves it with `daphne bench.channels_floor:application` (from the repository root)
on the product's settings, so the same Daphne, channel layer and database pool:

- GET / answers a page that names a new chat's socket, as the product's page does
  (`ws-connect="/ws/chat/<id>/"`); GET /healthz answers "ok" (a plain ASGI app);
- `/ws/chat/<id>/` (behind Channels' allowed-hosts origin check) stores the chat session on
  connect, joins the chat's group on the channel layer and sends a state frame; then, per message:
  one ORM write (the answer, as a ChatMessage row, through `database_sync_to_async` as the
  product's writes go) and 20 frames: 19 words CHAT_TEMPLATE_TOKEN_DELAY apart, as the template
  responder streams them, and a last one that ends the turn (`id="progress"`, as the product's).

No templates, no provider chain, no limits, no sessions. Prints nothing; asserts nothing.
"""
from __future__ import annotations

import asyncio
import json
import os
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "presskit.settings")
django.setup()

from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.urls import re_path  # noqa: E402

from chat.groups import group_name  # noqa: E402
from chat.models import ChatMessage, ChatSession  # noqa: E402
from presskit.models import Presskit  # noqa: E402

FRAMES_PER_MESSAGE = 20
WORD_FRAME = '<span id="stream-text" hx-swap-oob="beforeend">palabra{number} </span>'
STATE_FRAME = '<div id="progress" class="progress" hx-swap-oob="true"></div>'
DONE_FRAME = '<div id="stream" class="stream" hx-swap-oob="true"></div>' + STATE_FRAME


async def floor_http(scope: dict, receive, send) -> None:
    """GET /healthz, and any other path the page. A plain ASGI app: like Django's handler in the
    product, it takes no channel of the channel layer."""
    if scope["path"] == "/healthz":
        body, content_type = b"ok", b"text/plain"
    else:
        body = f'<main hx-ext="ws" ws-connect="/ws/chat/{uuid.uuid4()}/"></main>'.encode()
        content_type = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})


def _session_store(session_id: str) -> None:
    with transaction.atomic():
        ChatSession.objects.create(pk=session_id, presskit=Presskit.objects.create())


def _answer_store(session_id: str, step: int, text: str) -> None:
    ChatMessage.objects.create(session_id=session_id, role=ChatMessage.Role.USER, step=step, text=text)


class FloorConsumer(AsyncWebsocketConsumer):
    session_id = ""

    async def connect(self) -> None:
        await self.accept()
        self.session_id = self.scope["url_route"]["kwargs"]["session_id"]
        self.answered = 0
        await database_sync_to_async(_session_store)(self.session_id)
        await self.channel_layer.group_add(group_name(self.session_id), self.channel_name)
        await self.send(text_data=STATE_FRAME)

    async def disconnect(self, code: int) -> None:
        if self.session_id:
            await self.channel_layer.group_discard(group_name(self.session_id), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.answered += 1
        await database_sync_to_async(_answer_store)(self.session_id, self.answered, json.loads(text_data)["message"])
        for number in range(1, FRAMES_PER_MESSAGE):
            await self.send(text_data=WORD_FRAME.format(number=number))
            await asyncio.sleep(settings.CHAT_TEMPLATE_TOKEN_DELAY)
        await self.send(text_data=DONE_FRAME)


application = ProtocolTypeRouter({
    "http": floor_http,
    "websocket": AllowedHostsOriginValidator(URLRouter([
        re_path(r"^ws/chat/(?P<session_id>[0-9a-f-]+)/$", FloorConsumer.as_asgi()),
    ])),
})
