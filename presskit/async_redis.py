"""Asyncio Redis connection pools that wait for a free connection instead of failing.

redis-py's asyncio pool (8.x, as locked) holds at most 100 connections unless told otherwise and
raises "Too many connections" past them: a few hundred sockets closing at once, each leaving its
groups, then failed to leave them. A BlockingConnectionPool of REDIS_ASYNC_MAX_CONNECTIONS waits
up to REDIS_POOL_WAIT seconds for a connection instead. One pool per event loop, as before: an
asyncio connection belongs to the loop that opened it. Used by the channel layer (the
CHANNEL_LAYERS backend below), the chat's limits (chat.throttle) and its list of open tabs
(chat.groups), through loop_client.
"""
from __future__ import annotations

import asyncio

import redis.asyncio
from channels_redis.core import RedisChannelLayer
from django.conf import settings


def waiting_pool(url: str, **options: object) -> redis.asyncio.BlockingConnectionPool:
    return redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=settings.REDIS_ASYNC_MAX_CONNECTIONS, timeout=settings.REDIS_POOL_WAIT, **options)


_clients: dict[asyncio.AbstractEventLoop, dict[tuple, redis.asyncio.Redis]] = {}


def of_this_loop(registry: dict) -> dict:
    """The running event loop's entry of a per-loop registry (an asyncio connection belongs to the
    loop that opened it); the entries of closed loops are dropped."""
    for gone in [loop for loop in registry if loop.is_closed()]:
        del registry[gone]
    return registry.setdefault(asyncio.get_running_loop(), {})


def loop_client(url: str, **options: float) -> redis.asyncio.Redis:
    """This event loop's client for `url` and `options` (built once per loop, on a waiting pool)."""
    per_loop = of_this_loop(_clients)
    key = (url, *sorted(options.items()))
    if key not in per_loop:
        per_loop[key] = redis.asyncio.Redis(connection_pool=waiting_pool(url, **options))
    return per_loop[key]


class WaitingRedisChannelLayer(RedisChannelLayer):
    """channels-redis's layer, its pools waiting for a connection. Hosts are given by "address"
    (a URL), as presskit.settings does; channels-redis's Sentinel hosts are not supported here."""

    def create_pool(self, index: int) -> redis.asyncio.BlockingConnectionPool:
        host = dict(self.hosts[index])
        return waiting_pool(host.pop("address"), **host)
