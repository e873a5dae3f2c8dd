"""Refuse an oversized request body before anything parses it.

Daphne reads a whole body before the application sees it and hands it over in chunks; Django then
reads it again (and the CSRF check parses a multipart body whole), so one 100 MB POST with a forged
cookie took a Daphne from 433 MB to 1.6 GB before its 403. This ASGI guard answers 413 as soon as
the declared `Content-Length` is over the route's limit, or as soon as the bytes received pass it
(a chunked body declares none), so no oversized body is ever parsed. Limits come from settings
(REQUEST_BODY_MAX_BYTES, REQUEST_BODY_LIMITS by path prefix); the proxy in front (nginx's
`client_max_body_size`, docker-compose.yml) stops such bodies before they reach Daphne at all.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from django.conf import settings

Scope = dict
Message = dict
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE = ("La petición es demasiado grande. / The request is too large.\n").encode()


class BodyTooLarge(Exception):
    pass


def body_limit_for(path: str, limits: Mapping[str, int], default: int) -> int:
    """The longest matching prefix's limit, else the default."""
    matches = [prefix for prefix in limits if path.startswith(prefix)]
    return limits[max(matches, key=len)] if matches else default


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.strip().isdigit() else -1
    return None


async def _refuse(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                            (b"content-length", str(len(TOO_LARGE)).encode())]})
    await send({"type": "http.response.body", "body": TOO_LARGE})


class RequestBodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit_for(scope["path"], settings.REQUEST_BODY_LIMITS, settings.REQUEST_BODY_MAX_BYTES)
        declared = _declared_length(scope)
        if declared is not None and not 0 <= declared <= limit:
            return await _refuse(send)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send)
