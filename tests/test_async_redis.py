"""The asyncio Redis pools wait for a free connection: a burst of sockets joining and leaving
their groups at once (hundreds of tabs closed together, a reconnect storm) all succeed, where
redis-py's own pool fails past 100 connections."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from redis.exceptions import MaxConnectionsError

from chat import throttle

BURST = 400


async def _join_and_leave(layer, group: str) -> list[BaseException]:
    """What failed of BURST sockets joining a group at once, then leaving it at once."""
    channels = [f"{group}.{n}" for n in range(BURST)]
    joined = await asyncio.gather(*(layer.group_add(group, channel) for channel in channels), return_exceptions=True)
    left = await asyncio.gather(*(layer.group_discard(group, channel) for channel in channels), return_exceptions=True)
    return [outcome for outcome in (*joined, *left) if isinstance(outcome, BaseException)]


@pytest.mark.asyncio
async def test_the_channel_layer_takes_a_burst_of_joins_and_leaves(settings):
    settings.REDIS_ASYNC_MAX_CONNECTIONS = 20  # far fewer than the burst: callers wait their turn
    layer = get_channel_layer()
    assert type(layer).__module__ == "presskit.async_redis"
    assert await _join_and_leave(layer, f"burst-{uuid.uuid4().hex[:8]}") == []
    await layer.flush()


@pytest.mark.asyncio
async def test_redis_py_s_own_pool_would_fail_the_same_burst():
    """What the waiting pools are for: the library's defaults, on the same Redis."""
    layer = RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=f"burst-{uuid.uuid4().hex[:8]}")
    failed = await _join_and_leave(layer, "burst")
    assert failed and all(isinstance(error, MaxConnectionsError) for error in failed)
    await layer.flush()


@pytest.mark.asyncio
async def test_the_socket_counts_take_a_burst_of_sockets(settings):
    settings.REDIS_KEY_PREFIX = f"test-burst-{uuid.uuid4().hex[:10]}"
    settings.CLIENT_SOCKETS_MAX = BURST
    sockets = [f"socket-{n}" for n in range(BURST)]
    assert all(await asyncio.gather(*(throttle.socket_open("198.18.0.1", socket) for socket in sockets)))
    await asyncio.gather(*(throttle.socket_closed("198.18.0.1", socket) for socket in sockets))
    # Every close was counted: as many new sockets find a place again.
    others = [f"other-{n}" for n in range(BURST)]
    assert all(await asyncio.gather(*(throttle.socket_open("198.18.0.1", socket) for socket in others)))
