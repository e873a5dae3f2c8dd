"""Which pages may open a WebSocket here. A socket's Origin must be a whole origin we trust,
compared as Django's CSRF check compares a form's: the page's own (https when the socket is wss,
or when the proxy says so through SECURE_PROXY_SSL_HEADER; the host and port the browser sent in
Host, if ALLOWED_HOSTS has the host), or one of CSRF_TRUSTED_ORIGINS, whose `https://*.example.com`
entries match subdomains. Channels' AllowedHostsOriginValidator compares host names only, so any
port or scheme of an allowed host got in."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

logger = logging.getLogger(__name__)


def _header(scope: dict, name: bytes) -> str | None:
    """The header's value when it was sent exactly once."""
    values = [value for header, value in scope.get("headers", []) if header == name]
    return values[0].decode("latin1") if len(values) == 1 else None


def _secure(scope: dict) -> bool:
    """As Django's HttpRequest.is_secure: the proxy's header when one is trusted and sent, else
    the socket's own scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        forwarded = _header(scope, meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode())
        if forwarded is not None:
            return forwarded.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") == "wss"


def _own_origin(scope: dict) -> str | None:
    """The origin of the page that opened the socket, as HttpRequest.get_host validates its host."""
    host = _header(scope, b"host")
    if host is None:
        return None
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    return f"{'https' if _secure(scope) else 'http'}://{host}"


def _trusted(origin: str) -> bool:
    """As CsrfViewMiddleware: an exact entry of CSRF_TRUSTED_ORIGINS, or a subdomain of a
    `scheme://*.domain` entry with the same scheme."""
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in (entry for entry in trusted if "*" not in entry):
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    wildcards = (urlsplit(entry) for entry in trusted if "*" in entry)
    return any(pattern.scheme == parsed.scheme and is_same_domain(parsed.netloc, pattern.netloc.lstrip("*"))
               for pattern in wildcards)


def websocket_origin_allowed(scope: dict) -> bool:
    origin = _header(scope, b"origin")
    if origin is None:  # browsers always send it: a socket without one was not opened by a page
        return False
    return origin == _own_origin(scope) or _trusted(origin)


class WebsocketOriginValidator:
    """ASGI middleware: a socket from any other origin is closed before it is accepted (the
    handshake is answered 403), as Channels' validators do."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if websocket_origin_allowed(scope):
            return await self.application(scope, receive, send)
        logger.info("websocket refused: origin %r is not the page's own nor trusted (host %r)",
                    _header(scope, b"origin"), _header(scope, b"host"))
        return await WebsocketDenier.as_asgi()(scope, receive, send)
