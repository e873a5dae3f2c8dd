"""Answers kept while the database cannot take them (MINIMAL), applied in order once it can:
the artist's words are never lost, never applied twice, never out of order.

Each chat's kept answers wait in a Redis list of its own (the same Redis as everything else),
each with an id. Applying one is a single database transaction that records the id on the
artist's message (unique), so a crash between the commit and the removal from the list cannot
apply it twice; a per-chat lock keeps two workers from interleaving. They are applied before the
chat's next live command, and by the Celery beat task `chat.tasks.pending_answers_replay` for
chats whose artist has gone.
"""
from __future__ import annotations

import json
import logging

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction

from chat import rendering, services
from chat.bios import bio_after_answers, finishes_presskit
from chat.chain import Reply
from chat.groups import group_publish_now
from chat.kept import chat_key, chats_key
from chat.models import ChatMessage, ChatSession
from chat.providers.template import compose_reply
from presskit.integrations import integrations_sync
from resilience.degradation import Level, degradation_current
from resilience.redis_client import process_redis

logger = logging.getLogger(__name__)
LOCK_SECONDS = 30


class KeptAnswerRefused(Exception):
    """The database refused a kept answer for its data (not for being away): replaying it would
    fail the same way forever."""


def _apply(session_id: str, entry: dict) -> tuple[tuple[str, str], str | None] | None:
    """One kept answer and its template reply, in one transaction: their fragments, and the
    presskit version it made if it finished the presskit. None if it was applied before."""
    try:
        with transaction.atomic():
            turn = services.answer_submit(session_id=session_id, text=entry["text"], kept_id=entry["id"],
                                          new_chat_language=entry.get("language"))
            message = services.reply_record(session_id=session_id, request=turn.request,
                                            reply=Reply(compose_reply(turn.request), "template", fallback_used=True))
    except IntegrityError as error:
        if ChatMessage.objects.filter(kept_id=entry["id"]).exists():
            return None  # applied already, then the process died before taking it off the list
        raise KeptAnswerRefused(type(error).__name__) from error
    except (DataError, services.InvalidAction) as error:  # InvalidAction: a chat that cannot be stored
        raise KeptAnswerRefused(type(error).__name__) from error
    return (rendering.render_user_turn(turn.message, turn.session.language),
            rendering.render_turn_done(session_id, message, Level.OPTIMAL)), (
        services.finish_version(turn.message) if finishes_presskit(turn.request) else None)


def _finish(session_id: str, version: str) -> None:
    """A kept answer finished the presskit: its bio, then its integrations (as a live turn would)."""
    if bio_message := async_to_sync(bio_after_answers)(session_id=session_id, version=version, ai_allowed=True):
        group_publish_now(session_id, rendering.render_turn_done(session_id, bio_message, Level.OPTIMAL))
    presskit_id = ChatSession.objects.values_list("presskit_id", flat=True).get(pk=session_id)
    try:
        integrations_sync(presskit_id=str(presskit_id), version=version)
    except Exception:
        logger.exception("integrations not synced (session %s)", session_id)


def pending_answers_replay_chat(session_id: str) -> int:
    """Apply one chat's kept answers, oldest first. Returns how many. Raises database errors
    (the answer stays kept)."""
    redis = process_redis()
    key = chat_key(session_id)
    if not redis.exists(key):
        return 0
    lock = redis.lock(f"{key}:lock", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS)
    if not lock.acquire():
        return 0
    applied, finished = 0, None
    try:
        while (raw := redis.lindex(key, 0)) is not None:
            try:
                outcome = _apply(session_id, json.loads(raw))
            except KeptAnswerRefused as refused:  # dropped, and the artist is told: never replayed
                logger.warning("kept answer dropped, refused for its data: %s (session %s)", refused, session_id)
                redis.lrem(key, 1, raw)
                language = json.loads(raw).get("language") or settings.LANGUAGE_CODE
                group_publish_now(session_id, rendering.render_error("kept_refused", language))
                continue
            redis.lrem(key, 1, raw)  # applied (now or before): off the list (this one, whatever else moved)
            if outcome is not None:
                applied += 1
                fragments, finishes = outcome
                finished = finishes or finished  # the last answer that finished the presskit
                for html in fragments:
                    group_publish_now(session_id, html)
        redis.srem(chats_key(), session_id)
    finally:
        lock.release()
    try:
        if finished:  # outside the lock: the bio may take a while, the next chat's answers must not wait
            _finish(session_id, finished)
    finally:
        connection.close()  # a worker thread's own connection, back to the pool
    return applied


def pending_answers_replay() -> int:
    """Every chat's kept answers, while writes are possible (the beat task). Returns how many."""
    if degradation_current().level >= Level.MINIMAL:
        return 0
    redis = process_redis()
    applied = 0
    for session_id in [chat.decode() for chat in redis.smembers(chats_key())]:
        try:
            applied += pending_answers_replay_chat(session_id)
        except Exception:
            logger.exception("kept answers not applied yet (session %s)", session_id)
    return applied
