"""Replies that AI providers wrote before, kept in Redis (the Django cache) for a while, so a
turn can still get an AI-written reply when every provider is down: same step, same kind of
reply, equivalent answer. A cache that cannot be reached is a miss, never an error."""
from __future__ import annotations

import hashlib
import logging
import re

from django.core.cache import cache

from chat.providers.base import ReplyRequest
from chat.providers.template import TOKEN

logger = logging.getLogger(__name__)

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def _equivalent(text: str) -> str:
    """Answers that differ only in case, spacing or punctuation are the same answer."""
    return _NOISE.sub(" ", text.casefold()).strip()


def reply_cache_key(request: ReplyRequest) -> str:
    parts = [request.language, request.kind, str(request.step), str(request.next_step),
             request.reason_code, _equivalent(request.answer)]
    return "ai-reply:v1:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class ReplyCache:
    def __init__(self, ttl: int) -> None:
        self.ttl = ttl

    async def get(self, request: ReplyRequest) -> str:
        try:
            return await cache.aget(reply_cache_key(request)) or ""
        except Exception:  # Redis away: no cached reply, and the chain goes on
            logger.warning("reply cache unreachable (read)")
            return ""

    async def put(self, request: ReplyRequest, text: str) -> None:
        try:
            await cache.aset(reply_cache_key(request), text, self.ttl)
        except Exception:
            logger.warning("reply cache unreachable (write)")


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
