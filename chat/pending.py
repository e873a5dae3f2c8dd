"""Answers kept while the database cannot take them (the MINIMAL level), replayed in order
once it can: the artist's words are never lost, and never asked for twice.

They wait in a Redis list (the same Redis as everything else); the Celery beat task
`chat.tasks.pending_answers_replay` applies them when the level allows writes again, and pushes
the resulting turn to the chat's open tabs.
"""
from __future__ import annotations

import json
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django_redis import get_redis_connection

from chat import rendering, services
from chat.chain import Reply
from chat.groups import GROUP_EVENT, group_name
from chat.models import ChatSession
from chat.providers.template import compose_reply
from resilience.degradation import Level, degradation_current

logger = logging.getLogger(__name__)


def _key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:chat:pending-answers"


def pending_answer_keep(*, session_id: str, text: str) -> None:
    """Keep an answer for later. Raises the Redis error if even Redis cannot take it."""
    entry = json.dumps({"session_id": session_id, "text": text, "kept_at": time.time()})
    get_redis_connection("default").rpush(_key(), entry)


def pending_answers_count() -> int:
    return int(get_redis_connection("default").llen(_key()))


def _publish(session_id: str, html: str) -> None:
    async_to_sync(get_channel_layer().group_send)(
        group_name(session_id), {"type": GROUP_EVENT, "html": html, "origin": None})


def _replay(entry: dict) -> None:
    turn = services.answer_submit(session_id=entry["session_id"], text=entry["text"])
    _publish(entry["session_id"], rendering.render_user_turn(turn.message, turn.session.language))
    text = compose_reply(turn.request)
    message = services.reply_record(session_id=entry["session_id"], request=turn.request,
                                    reply=Reply(text, "template", fallback_used=True))
    _publish(entry["session_id"], rendering.render_turn_done(entry["session_id"], message))


def pending_answers_replay() -> int:
    """Apply the kept answers, oldest first, while writes are possible. Returns how many."""
    if degradation_current().level >= Level.MINIMAL:
        return 0
    connection = get_redis_connection("default")
    replayed = 0
    while raw := connection.lpop(_key()):
        entry = json.loads(raw)
        if not ChatSession.objects.filter(pk=entry["session_id"]).exists():
            logger.warning("kept answer for an unknown chat dropped (session %s)", entry["session_id"])
            continue
        try:
            _replay(entry)
        except Exception:
            connection.lpush(_key(), raw)  # back at the head: order kept, tried again next time
            logger.exception("kept answer not replayed yet (session %s)", entry["session_id"])
            break
        replayed += 1
    return replayed
