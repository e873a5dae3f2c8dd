"""Asyncio Redis connection pools that wait for a free connection instead of failing.

redis-py's asyncio pool (8.x, as locked) holds at most 100 connections unless told otherwise and
raises "Too many connections" past them: a few hundred sockets closing at once, each leaving its
groups, then failed to leave them. A BlockingConnectionPool of REDIS_ASYNC_MAX_CONNECTIONS waits
up to REDIS_POOL_WAIT seconds for a connection instead. One pool per event loop, as before: an
asyncio connection belongs to the loop that opened it. Used by the channel layer (the
CHANNEL_LAYERS backend below) and the chat's limits (chat.throttle).
"""
from __future__ import annotations

import redis.asyncio
from channels_redis.core import RedisChannelLayer
from django.conf import settings


def waiting_pool(url: str, **options: object) -> redis.asyncio.BlockingConnectionPool:
    return redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=settings.REDIS_ASYNC_MAX_CONNECTIONS, timeout=settings.REDIS_POOL_WAIT, **options)


class WaitingRedisChannelLayer(RedisChannelLayer):
    """channels-redis's layer, its pools waiting for a connection. Hosts are given by "address"
    (a URL), as presskit.settings does; channels-redis's Sentinel hosts are not supported here."""

    def create_pool(self, index: int) -> redis.asyncio.BlockingConnectionPool:
        host = dict(self.hosts[index])
        return waiting_pool(host.pop("address"), **host)
