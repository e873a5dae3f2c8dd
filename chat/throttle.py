"""How fast one chat may ask for turns and how much one client may open, counted in Redis so
every Daphne process counts together.

- Turns of one chat (answers, edits, actions; on the socket and the form alike): the windows in
  CHAT_TURN_LIMITS (a burst, then a steady pace), moving windows of the `limits` library. A turn
  over them is refused with "más despacio" and nothing is stored.
- Chats one client creates: CLIENT_CHATS_LIMIT (a page load without a chat makes one).
- Sockets one client holds open: CLIENT_SOCKETS_MAX, a sorted set of open sockets per client,
  each entry expiring after SOCKET_ENTRY_TTL unless its socket is heard from (so a process that
  died does not hold a client's places for ever).

A client is its address: REMOTE_ADDR, or the header CLIENT_IP_HEADER names when a proxy we run
sets it (deploy/nginx.conf sets X-Real-IP). Without Redis nothing is refused: a limit that
cannot be counted must not stop the chat (the breakers and the level deal with Redis itself).
"""
from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Iterable

import redis
import redis.asyncio
from django.conf import settings
from django.http import HttpRequest
from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)

SOCKET_ENTRY_TTL = 3600  # seconds an open socket counts without a frame from it
REDIS_ERRORS = (redis.RedisError, OSError, StorageError)


def _prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:limits"


def _options() -> dict[str, float]:
    timeout = settings.RESILIENCE_REDIS_TIMEOUTS["limits"]
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout}


# --- Who is asking ---------------------------------------------------------------------------------
def client_of_request(request: HttpRequest) -> str:
    return _client(request.META.get(_meta_name()), request.META.get("REMOTE_ADDR"))


def client_of_scope(scope: dict) -> str:
    header = settings.CLIENT_IP_HEADER.lower().encode()
    value = next((v.decode("latin-1") for k, v in scope.get("headers", []) if header and k == header), None)
    return _client(value, (scope.get("client") or ("unknown",))[0])


def _meta_name() -> str:
    return "HTTP_" + settings.CLIENT_IP_HEADER.upper().replace("-", "_") if settings.CLIENT_IP_HEADER else ""


def _client(header_value: str | None, remote_addr: str | None) -> str:
    if settings.CLIENT_IP_HEADER and header_value:
        return header_value.split(",")[-1].strip()  # the address the proxy itself saw
    return remote_addr or "unknown"


# --- Rate windows ----------------------------------------------------------------------------------
def _items(spec: str) -> list[RateLimitItem]:
    return parse_many(spec) if spec else []


# Clients by (Redis URL, key prefix): one per process, and for asyncio one per event loop (an
# asyncio connection belongs to the loop that opened it).
_async_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict] = weakref.WeakKeyDictionary()
_sync_limiters: dict[tuple[str, str], MovingWindowRateLimiter] = {}


def _async_limiter() -> AsyncMovingWindow:
    per_loop = _async_limiters.setdefault(asyncio.get_running_loop(), {})
    key = (settings.REDIS_URL, _prefix())
    if key not in per_loop:
        per_loop[key] = AsyncMovingWindow(AsyncRedisStorage(f"async+{settings.REDIS_URL}", implementation="redispy",
                                                            key_prefix=_prefix(), **_options()))
    return per_loop[key]


def _limiter() -> MovingWindowRateLimiter:
    key = (settings.REDIS_URL, _prefix())
    if key not in _sync_limiters:  # a race builds two; one is kept
        _sync_limiters[key] = MovingWindowRateLimiter(RedisStorage(settings.REDIS_URL, key_prefix=_prefix(),
                                                                   **_options()))
    return _sync_limiters[key]


def _wait_of(reset_times: Iterable[float]) -> float:
    return max(1.0, max(reset_times, default=0.0) - time.time())


async def turn_wait(session_id: str) -> float | None:
    """None when this chat may have a turn now (and it is counted), else the seconds to wait."""
    limiter = _async_limiter()
    try:
        for item in _items(settings.CHAT_TURN_LIMITS):
            if not await limiter.hit(item, "turn", session_id):
                stats = await limiter.get_window_stats(item, "turn", session_id)
                return _wait_of([stats.reset_time])
    except REDIS_ERRORS as error:
        logger.warning("turn limit not counted (Redis: %s)", type(error).__name__)
    return None


def chat_creation_allowed(client: str) -> bool:
    """Whether this client may start one more chat now (and it is counted)."""
    try:
        return all(_limiter().hit(item, "chats", client) for item in _items(settings.CLIENT_CHATS_LIMIT))
    except REDIS_ERRORS as error:
        logger.warning("chat creation limit not counted (Redis: %s)", type(error).__name__)
        return True


# --- Open sockets --------------------------------------------------------------------------------
# Drop the expired entries, then add this socket unless the client holds `max` already.
_SOCKET_OPEN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict] = weakref.WeakKeyDictionary()


def _async_redis() -> redis.asyncio.Redis:
    per_loop = _async_clients.setdefault(asyncio.get_running_loop(), {})
    if settings.REDIS_URL not in per_loop:
        per_loop[settings.REDIS_URL] = redis.asyncio.Redis.from_url(settings.REDIS_URL, **_options())
    return per_loop[settings.REDIS_URL]


def _sockets_key(client: str) -> str:
    return f"{_prefix()}:sockets:{client}"


async def socket_open(client: str, socket: str) -> bool:
    """Count this socket as the client's (again: a frame from it keeps it counted). False when
    the client holds CLIENT_SOCKETS_MAX open already."""
    now = time.time()
    try:
        return bool(await _async_redis().eval(
            _SOCKET_OPEN, 1, _sockets_key(client), now, now + SOCKET_ENTRY_TTL, socket,
            settings.CLIENT_SOCKETS_MAX, SOCKET_ENTRY_TTL))
    except REDIS_ERRORS as error:
        logger.warning("open sockets not counted (Redis: %s)", type(error).__name__)
        return True


async def socket_closed(client: str, socket: str) -> None:
    try:
        await _async_redis().zrem(_sockets_key(client), socket)
    except REDIS_ERRORS as error:  # its entry expires by itself
        logger.warning("closed socket not uncounted (Redis: %s)", type(error).__name__)
