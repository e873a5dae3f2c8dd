"""Past the event loop's lag limit (resilience.overload), the chat's page says "vuelve en un momento".

A new chat starts with GET /: while this process sheds, that page load gets a small 503 page in
the reader's language (Retry-After, and a refresh after as many seconds, so the browser comes back
by itself) answered here, before Django's middleware, sessions or database do any work for it.
Everything else passes: the chats already running (their sockets, their form posts), the public
pages bookers read, the admin staff steer from, health checks and static files. The chat's socket
handshake sheds in its consumer (4013, with the reason in the chat).
"""
from __future__ import annotations

from functools import cache

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import get_language_from_request

from presskit.body_limit import ASGIApp, Receive, Scope, Send
from presskit.clients import request_of_scope
from presskit.texts import public_texts
from resilience import overload

SHED_PATHS = frozenset({"/"})  # where a new chat starts
BUSY_POLICY = b"default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"


@cache
def _busy_page(language: str, seconds: int) -> bytes:
    """Rendered once per language: while shedding, each refusal costs no template work."""
    texts = public_texts(language)
    return render_to_string("presskit/busy.html", {
        "language": language, "seconds": seconds, "t": texts,
        "busy_text": texts["busy_text"].format(seconds=seconds)}).encode()


class ShedNewChats:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] in SHED_PATHS and scope["method"] in ("GET", "HEAD")
                and overload.shedding("page")):
            return await self._refuse(scope, send)
        return await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send) -> None:
        seconds = settings.LOAD_SHED_RETRY_AFTER
        page = _busy_page(get_language_from_request(request_of_scope(scope)), seconds)
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(page)).encode()),
            (b"retry-after", str(seconds).encode()), (b"cache-control", b"no-store"),
            (b"content-security-policy", BUSY_POLICY), (b"x-content-type-options", b"nosniff"),
            (b"vary", b"Accept-Language")]})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else page})
