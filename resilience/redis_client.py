"""One Redis client (and connection pool) per URL for the resilience app's small reads and writes
(chaos drills, the queue's drain), and one default cache per process. redis-py resets its pool in
a forked child."""
from __future__ import annotations

import functools
import threading

import redis
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed
from django.dispatch import receiver

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


@functools.cache
def process_cache() -> BaseCache:
    """The default cache, one backend for the process (django-redis's is thread-safe: each command
    takes a connection from the one pool). `django.core.cache.caches` holds a backend per asyncio
    context: used from a chat socket's calls (its connect, its turns), it built one for each socket,
    with its own Redis client, kept as long as the socket (13 KB, a quarter of an idle socket)."""
    return caches.create_connection("default")


def process_redis() -> redis.Redis:
    """The raw Redis client of `process_cache` (what django_redis.get_redis_connection returns)."""
    return process_cache().client.get_client()


@receiver(setting_changed)
def _process_cache_forgotten(*, setting: str, **kwargs: object) -> None:
    if setting == "CACHES":  # as Django forgets its own backends (tests change the key prefix)
        process_cache.cache_clear()
