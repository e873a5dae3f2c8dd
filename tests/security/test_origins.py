"""Which pages may open a chat socket (issue: "the WebSocket Origin check ignores scheme and port"):
the whole origin — scheme, host and port — must be the page's own (a host in ALLOWED_HOSTS, as the
browser names it in Host) or one of CSRF_TRUSTED_ORIGINS; anything else is refused before the
socket is accepted. Through the full ASGI stack, with an artist who owns the chat."""
from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from presskit.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def handshake(artist, *, host: str | None, origin: str | None, **headers: str) -> bool:
    """True when the socket was accepted."""
    sent = {"host": host, "origin": origin, "cookie": artist.cookie, **headers}
    communicator = WebsocketCommunicator(
        application, f"/ws/chat/{artist.chat_id}/",
        headers=[(name.replace("_", "-").encode(), value.encode())
                 for name, value in sent.items() if value is not None],
    )
    try:
        connected, _ = await communicator.connect(timeout=5)
        return connected
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize(("host", "origin"), [
    ("127.0.0.1:8000", "http://127.0.0.1:9999"),  # another port of an allowed host
    ("localhost", "https://localhost"),  # another scheme: the socket came over plain ws
    ("localhost:8000", "http://localhost"),  # the default port is not the page's
    ("localhost", "http://evil.example"),
    ("evil.example", "http://evil.example"),  # a host that is not in ALLOWED_HOSTS
    ("localhost", "null"),  # a sandboxed frame, a file:// page
    ("localhost", None),  # browsers always send one: a socket without it is not a page's
])
async def test_any_other_origin_is_refused_before_the_socket_is_accepted(artist, host, origin):
    assert not await handshake(artist, host=host, origin=origin)


@pytest.mark.parametrize(("host", "origin"), [
    ("localhost:8000", "http://localhost:8000"),
    ("127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("localhost", "http://localhost"),
    ("[::1]:8000", "http://[::1]:8000"),
])
async def test_the_pages_own_origin_is_accepted(artist, host, origin):
    assert await handshake(artist, host=host, origin=origin)


async def test_behind_a_tls_proxy_the_page_is_https_only_when_the_proxy_header_is_trusted(artist, settings):
    proxied = {"host": "localhost", "origin": "https://localhost", "x_forwarded_proto": "https"}
    assert not await handshake(artist, **proxied)  # anyone can send the header: not trusted by default
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert await handshake(artist, **proxied)
    assert not await handshake(artist, host="localhost", origin="http://localhost", x_forwarded_proto="https")


async def test_csrf_trusted_origins_are_accepted_whole_and_their_wildcards_as_django_reads_them(artist, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://presskit.example.com", "https://*.example.org"]
    for origin in ("https://presskit.example.com", "https://band.example.org", "https://example.org"):
        assert await handshake(artist, host="localhost", origin=origin), origin
    for origin in ("http://presskit.example.com", "https://presskit.example.com:8443",
                   "http://band.example.org", "https://example.org.evil.example"):
        assert not await handshake(artist, host="localhost", origin=origin), origin
