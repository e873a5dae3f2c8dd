"""One Redis client (and connection pool) per URL for the resilience app's small reads and writes
(chaos drills, the queue's drain). redis-py resets its pool in a forked child."""
from __future__ import annotations

import threading

import redis
from django.conf import settings

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def shared_redis() -> redis.Redis:
    url = settings.RESILIENCE_REDIS_URL
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            timeout = settings.RESILIENCE_REDIS_TIMEOUTS["shared"]
            client = _clients[url] = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return client
