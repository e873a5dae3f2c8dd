"""What it takes to POST to a webhook staff typed in: only to public addresses, signed so a
receiver can tell our requests (and refuse a replayed one), with the secret sealed at rest.

Destinations. A webhook URL is resolved when it is sent to, every address it resolves to must
be public (not loopback, private, link-local, shared, reserved or multicast) unless it lies in
`INTEGRATION_ALLOWED_NETWORKS` (internal receivers staff vouch for), and the connection goes to
the address that was checked (no second lookup an attacker's DNS could answer differently).
Redirects are never followed. Why a send failed is not told apart for staff: a refused address,
a closed port and a timeout are all `WebhookUnreachable`, so the job page maps no network.

Signing (the receiver's check is in the README, "Receiving webhooks"): the body is signed with
HMAC-SHA256 over `<timestamp>.<body>`; the headers carry the timestamp and the signature, and
the body carries the delivery's idempotency key, so the key a receiver de-duplicates on is
signed too. A receiver refuses a timestamp more than five minutes away from its clock.

Sealing: the secret is kept encrypted (Fernet) under a key derived from SECRET_KEY, so a copy of
the database alone signs nothing; SECRET_KEY_FALLBACKS still open secrets sealed before a
SECRET_KEY rotation.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

SCHEMES = ("https", "http")
SIGNATURE_HEADER = "X-Presskit-Signature"
TIMESTAMP_HEADER = "X-Presskit-Timestamp"
SIGNATURE_TOLERANCE_SECONDS = 300  # what the README tells receivers to accept
SECRET_BYTES = 32


class WebhookUnreachable(Exception):
    """The webhook could not be reached, or may not be: deliberately not said which."""


# --- Destinations ----------------------------------------------------------------------------------
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(network, strict=False) for network in settings.INTEGRATION_ALLOWED_NETWORKS]


# IPv6 ranges that carry an IPv4 address (NAT64 reaches it; 6to4 and Teredo tunnel to it), and
# ranges Python's `is_global` has called global in some 3.11 releases.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_NEVER_PUBLIC = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("fec0::/10"), *_NAT64)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for or leads to (mapped, NAT64, 6to4, Teredo)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if any(address in network for network in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and any(address in network for network in _NEVER_PUBLIC):
        return False
    return address.is_global and not address.is_multicast


def address_allowed(address: IPAddress) -> bool:
    """A public address (and, for an IPv6 one carrying an IPv4 address, that one public too), or
    one inside an allowed internal network."""
    inner = embedded_ipv4(address)
    candidates = [address, inner] if inner else [address]
    if any(candidate in network for network in _allowed_networks() for candidate in candidates):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _public(inner)  # ::ffff:10.0.0.7 is 10.0.0.7
    return _public(address) and (inner is None or _public(inner))


@dataclass(frozen=True)
class Destination:
    """Where one send goes: the URL to connect to (its host replaced by the checked address),
    and the name the receiver knows itself by (Host header, TLS server name)."""

    url: str
    host: str  # the Host header: name and port as written
    server_name: str  # what TLS checks the certificate against

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": self.host}

    @property
    def extensions(self) -> dict[str, str]:
        return {"sni_hostname": self.server_name}


def destination_resolve(url: str) -> Destination:
    """The checked address to send to, or WebhookUnreachable. Credentials in the URL are not
    sent (the admin refuses them: the secret signs deliveries)."""
    try:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError("not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)  # ValueError beyond 65535
        server_name = parts.hostname.encode("idna").decode("ascii")  # ñ.example -> xn--ida.example
        infos = socket.getaddrinfo(server_name, port, type=socket.SOCK_STREAM)
    except (ValueError, UnicodeError, socket.gaierror) as error:
        raise WebhookUnreachable("no such address") from error
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    # Every address must pass: a name with one public and one internal address is refused.
    if not addresses or not all(address_allowed(address) for address in addresses):
        raise WebhookUnreachable("address not allowed")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host = f"[{server_name}]" if ":" in server_name else server_name
    return Destination(url=urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
                       host=f"{host}:{parts.port}" if parts.port else host, server_name=server_name)


def webhook_url_validate(url: str) -> None:
    """What the admin can tell at once (the send checks again, after resolving): http(s) only,
    and no internal address written as a literal unless it is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValidationError("Only http:// and https:// webhooks are sent to.", code="scheme")
    if parts.username or parts.password:
        raise ValidationError("Credentials in the URL are not sent: the secret signs each delivery.",
                              code="credentials")
    host = (parts.hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        host = "127.0.0.1"  # what every resolver answers for it (RFC 6761)
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a name: checked when it is resolved, at each send
    if not address_allowed(address):
        raise ValidationError("This address is internal (loopback, private, link-local or reserved). Webhooks are "
                              "only sent there when its network is in INTEGRATION_ALLOWED_NETWORKS.", code="internal")


# --- Signing -------------------------------------------------------------------------------------
def signature_of(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: f"sha256={signature_of(secret, timestamp, body)}"}


def secret_generate() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


# --- Sealing -------------------------------------------------------------------------------------
def _fernet(key: str) -> Fernet:
    derived = hashlib.sha256(b"itera-presskit webhook secrets\x00" + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _sealer() -> MultiFernet:
    return MultiFernet([_fernet(key) for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]])


def secret_seal(secret: str) -> str:
    return _sealer().encrypt(secret.encode()).decode() if secret else ""


def secret_open(sealed: str) -> str:
    """The secret, or "" when none is set. A secret sealed under a key no longer configured
    cannot sign: that is an operator's error, raised."""
    if not sealed:
        return ""
    try:
        return _sealer().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("a webhook secret was sealed under a SECRET_KEY no longer configured "
                                   "(add the old key to SECRET_KEY_FALLBACKS, or set a new secret)") from None
