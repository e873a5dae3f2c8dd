"""Who may read the operational details (/metrics, the details of /readyz): the bearer of
METRICS_TOKEN, and for the metrics also a scraper connecting from METRICS_ALLOWED_NETWORKS.
Decided from the request alone, before any work is done for it."""
from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest


def has_operator_token(request: HttpRequest) -> bool:
    """`Authorization: Bearer <METRICS_TOKEN>`, compared in constant time; no token set, none accepted."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    token = settings.METRICS_TOKEN
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(credentials.encode(), token.encode())


def from_allowed_network(request: HttpRequest) -> bool:
    """The connecting address (REMOTE_ADDR, never a forwarded header anyone can write) is in
    METRICS_ALLOWED_NETWORKS."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack socket's view of an IPv4 client
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def may_scrape_metrics(request: HttpRequest) -> bool:
    return has_operator_token(request) or from_allowed_network(request)


def may_read_readiness_details(request: HttpRequest) -> bool:
    """The token's bearer, or a signed-in staff member. The user is looked up (sessions live in the
    database) only for a request with a session cookie, and a database that cannot answer means
    no: the public answer must not need it."""
    if has_operator_token(request):
        return True
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    try:
        return request.user.is_staff
    except DatabaseError:
        return False
