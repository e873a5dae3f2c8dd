"""Who is asking: a request's or a socket's client, as a key for limits and counts.

A client is its address: REMOTE_ADDR, or the address in the header CLIENT_IP_HEADER names when
the request comes from a proxy in CLIENT_IP_TRUSTED_PROXIES (deploy/nginx.conf sets X-Real-IP).
An IPv6 client is its /64: one host holds a whole /64.
"""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

IPV6_CLIENT_PREFIX = 64


def client_of_request(request: HttpRequest) -> str:
    header = "HTTP_" + settings.CLIENT_IP_HEADER.upper().replace("-", "_") if settings.CLIENT_IP_HEADER else ""
    return _client(request.META.get("REMOTE_ADDR"), request.META.get(header) if header else None)


def client_of_scope(scope: dict) -> str:
    header = settings.CLIENT_IP_HEADER.lower().encode()
    value = next((v.decode("latin-1") for k, v in scope.get("headers", []) if header and k == header), None)
    return _client((scope.get("client") or (None,))[0], value)


def request_of_scope(scope: dict) -> HttpRequest:
    """An ASGI scope's cookies (as Channels parsed them) and Accept-Language as a request, for
    Django's own readers of them (signed cookies, the language LocaleMiddleware would choose)."""
    request = HttpRequest()
    request.COOKIES = scope.get("cookies", {})
    request.META["HTTP_ACCEPT_LANGUAGE"] = dict(scope.get("headers", ())).get(b"accept-language", b"").decode("latin-1")
    return request


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def _client(remote_addr: str | None, header_value: str | None) -> str:
    """The client's address (its /64 for IPv6) as a key. The header counts only from a trusted
    proxy: anyone can send it."""
    address = _address(remote_addr)
    if header_value and address is not None and any(address in network
                                                    for network in settings.CLIENT_IP_TRUSTED_PROXIES):
        address = _address(header_value.split(",")[-1]) or address  # the address the proxy itself saw
    if address is None:
        return "unknown"
    if address.version == 6:
        if address.ipv4_mapped:  # a dual-stack socket's view of an IPv4 client
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)
