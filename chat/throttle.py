"""How fast one chat may ask for turns and how much one client may open, counted in Redis so
every Daphne process counts together.

- Turns of one chat (answers, edits, actions; on the socket and the form alike): the windows in
  CHAT_TURN_LIMITS (a burst, then a steady pace), moving windows in the `limits` library's
  notation. A turn over any of them is refused with "más despacio", counted in none, and nothing
  is stored.
- Chats one client creates: CLIENT_CHATS_LIMIT (a page load without a chat makes one).
- Sockets one client holds open: CLIENT_SOCKETS_MAX, a sorted set of open sockets per client.
  An open socket renews its entry every SOCKET_COUNT_REFRESH seconds (chat.consumers); an entry
  not renewed expires after SOCKET_ENTRY_TTL, so the sockets of a process that died or
  restarted stop counting within minutes.

Each moving window is a list of its hits' times, newest first, as the `limits` library keeps
them; all the windows of a limit are tested and hit by one script, in one round trip (`limits`
takes one a window to test and one to hit: four a turn).

A client is its address (presskit.clients: REMOTE_ADDR, or the address a trusted proxy names;
an IPv6 client is its /64). Without Redis nothing is refused: a limit
that cannot be counted must not stop the chat (the breakers and the level deal with Redis).
"""
from __future__ import annotations

import functools
import logging
import time

import redis
import redis.asyncio
from django.conf import settings
from limits import RateLimitItem, parse_many

from presskit.async_redis import loop_client

logger = logging.getLogger(__name__)

SOCKET_COUNT_REFRESH = 60  # seconds between an open socket's renewals of its entry
SOCKET_ENTRY_TTL = 3 * SOCKET_COUNT_REFRESH  # an entry not renewed this long no longer counts
REDIS_ERRORS = (redis.RedisError, OSError)


def _prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:limits"


def _options() -> dict[str, float]:
    timeout = settings.RESILIENCE_REDIS_TIMEOUTS["limits"]
    return {"socket_timeout": timeout, "socket_connect_timeout": timeout}


# --- Rate windows ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _items(spec: str) -> tuple[RateLimitItem, ...]:
    """The windows of a setting, parsed once (this is on every turn's path)."""
    return tuple(parse_many(spec)) if spec else ()


# All the windows or none: a hit over any window is counted in none. KEYS: a list per window;
# ARGV: now (seconds), then each window's limit and length (seconds). 1 when the hit counted.
_WINDOWS_HIT = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local entry = redis.call('LINDEX', key, tonumber(ARGV[2 * i]) - 1)
  if entry and tonumber(entry) >= now - tonumber(ARGV[2 * i + 1]) then
    return 0
  end
end
for i, key in ipairs(KEYS) do
  redis.call('LPUSH', key, ARGV[1])
  redis.call('LTRIM', key, 0, tonumber(ARGV[2 * i]) - 1)
  redis.call('EXPIRE', key, ARGV[2 * i + 1])
end
return 1
"""


def _windows_hit(kind: str, key: str, items: tuple[RateLimitItem, ...]) -> tuple:
    """The script's arguments (for `eval`) to count one hit of `key` in `items`' windows."""
    keys = [f"{_prefix()}:{kind}:{key}:{item.amount}/{item.get_expiry()}" for item in items]
    return (_WINDOWS_HIT, len(keys), *keys, time.time(),
            *(value for item in items for value in (item.amount, item.get_expiry())))


_sync_clients: dict[str, redis.Redis] = {}


def _sync_redis() -> redis.Redis:
    if settings.REDIS_URL not in _sync_clients:  # a race builds two; one is kept
        _sync_clients[settings.REDIS_URL] = redis.Redis.from_url(settings.REDIS_URL, **_options())
    return _sync_clients[settings.REDIS_URL]


async def turn_allowed(session_id: str) -> bool:
    """Whether this chat may have a turn now; if so it is counted in every window."""
    items = _items(settings.CHAT_TURN_LIMITS)
    if not items:
        return True
    try:
        return bool(await async_redis().eval(*_windows_hit("turn", session_id, items)))
    except REDIS_ERRORS as error:
        logger.warning("turn limit not counted (Redis: %s)", type(error).__name__)
        return True


def chat_creation_allowed(client: str) -> bool:
    """Whether this client may start one more chat now (and it is counted)."""
    items = _items(settings.CLIENT_CHATS_LIMIT)
    if not items:
        return True
    try:
        return bool(_sync_redis().eval(*_windows_hit("chats", client, items)))
    except REDIS_ERRORS as error:
        logger.warning("chat creation limit not counted (Redis: %s)", type(error).__name__)
        return True


# --- Open sockets --------------------------------------------------------------------------------
# Drop the expired entries, then add (or renew) this socket unless the client holds `max` already.
_SOCKET_OPEN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


def async_redis() -> redis.asyncio.Redis:
    """This loop's client for the chat's counts in Redis (their short timeouts: uncounted rather than slow)."""
    return loop_client(settings.REDIS_URL, **_options())


def _sockets_key(client: str) -> str:
    return f"{_prefix()}:sockets:{client}"


async def socket_open(client: str, socket: str) -> bool:
    """Count this socket as the client's, or renew it. False when the client holds
    CLIENT_SOCKETS_MAX open already."""
    now = time.time()
    try:
        return bool(await async_redis().eval(
            _SOCKET_OPEN, 1, _sockets_key(client), now, now + SOCKET_ENTRY_TTL, socket,
            settings.CLIENT_SOCKETS_MAX, int(SOCKET_ENTRY_TTL * 1000)))
    except REDIS_ERRORS as error:
        logger.warning("open sockets not counted (Redis: %s)", type(error).__name__)
        return True


async def socket_closed(client: str, socket: str) -> None:
    try:
        await async_redis().zrem(_sockets_key(client), socket)
    except REDIS_ERRORS as error:  # its entry expires by itself: nothing for an operator to do
        logger.info("closed socket not uncounted, left to expire (Redis: %s)", type(error).__name__)
