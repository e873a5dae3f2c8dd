"""Answers kept while the database cannot take them (MINIMAL): one Redis list per chat, and the
set of chats that have some. `chat.pending` applies them once the database is back."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from resilience.redis_client import process_redis


@dataclass(frozen=True)
class KeptAnswer:
    id: str  # becomes the artist's message's kept_id once applied
    text: str


def _prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:chat:kept"


def chat_key(session_id: str) -> str:
    return f"{_prefix()}:{session_id}"


def chats_key() -> str:
    return f"{_prefix()}:chats"


def pending_answer_keep(*, session_id: str, text: str, language: str) -> KeptAnswer:
    """Keep an answer for later (with the chat's language, which stores the chat if this is its
    first answer). Raises the Redis error if even Redis cannot take it."""
    kept = KeptAnswer(uuid.uuid4().hex, text)
    entry = json.dumps({"id": kept.id, "text": text, "language": language, "kept_at": time.time()})
    pipe = process_redis().pipeline()
    pipe.rpush(chat_key(session_id), entry)
    pipe.sadd(chats_key(), session_id)
    pipe.execute()
    return kept


def pending_answers_of(session_id: str) -> list[KeptAnswer]:
    """The chat's answers still waiting, oldest first (shown as pending in its transcript)."""
    entries = process_redis().lrange(chat_key(session_id), 0, -1)
    return [KeptAnswer(entry["id"], entry["text"]) for entry in map(json.loads, entries)]


def pending_answers_count(session_id: str | None = None) -> int:
    redis = process_redis()
    chats = [session_id] if session_id else [chat.decode() for chat in redis.smembers(chats_key())]
    return sum(int(redis.llen(chat_key(chat))) for chat in chats)
