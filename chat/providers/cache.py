"""Replies that AI providers wrote before, kept in Redis (the Django cache) for a while, so a
turn can still get an AI-written reply when every provider is down. The key is everything the
model was shown (the prompt), with case, spacing and punctuation folded: the same artist, step
and decision, and an equivalent answer. So a reply never reaches another artist. A cache that
cannot be reached is a miss, never an error."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re

from asgiref.sync import sync_to_async

from chat.prompts import build_prompt
from chat.providers.base import ReplyRequest
from chat.providers.template import TOKEN
from resilience.redis_client import process_cache

logger = logging.getLogger(__name__)

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def _equivalent(text: str) -> str:
    """Answers that differ only in case, spacing or punctuation are the same answer."""
    return _NOISE.sub(" ", text.casefold()).strip()


def reply_cache_key(request: ReplyRequest) -> str:
    return "ai-reply:v2:" + hashlib.sha256(_equivalent(build_prompt(request).text).encode()).hexdigest()


# django-redis is synchronous: run it in a worker thread of its own, not in the one thread that
# Channels gives every database call, so a slow cache never holds up other chats.
_cache_get = sync_to_async(lambda key: process_cache().get(key), thread_sensitive=False)
_cache_set = sync_to_async(lambda key, value, ttl: process_cache().set(key, value, ttl), thread_sensitive=False)


class ReplyCache:
    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self._writes: set[asyncio.Task] = set()

    async def get(self, request: ReplyRequest) -> str:
        try:
            return await _cache_get(reply_cache_key(request)) or ""
        except Exception:  # Redis away: no cached reply, and the chain goes on
            logger.warning("reply cache unreachable (read)")
            return ""

    async def put(self, request: ReplyRequest, text: str) -> None:
        try:
            await _cache_set(reply_cache_key(request), text, self.ttl)
        except Exception:
            logger.warning("reply cache unreachable (write)")

    def put_later(self, request: ReplyRequest, text: str) -> None:
        """Store in the background: the artist's reply does not wait for the cache."""
        task = asyncio.get_running_loop().create_task(self.put(request, text))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)


class CachedReplyMember:
    """The chain member that answers from the cache."""

    name = "cache"
    cacheable = False

    def __init__(self, replies: ReplyCache) -> None:
        self.replies = replies

    async def write(self, request: ReplyRequest, sink) -> str:
        text = await self.replies.get(request)
        for token in TOKEN.findall(text):
            await sink.token(token)
        return text
