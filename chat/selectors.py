"""Reads of chat sessions, with the ownership rule: a browser sees only its own chats."""
from __future__ import annotations

import uuid
from collections.abc import Iterable

from chat.models import ChatSession

# The browser session holds the ids of the chats it owns (its current one last): the WebSocket
# refuses any other id.
OWNED_SESSIONS_KEY = "chat_sessions"
CURRENT_SESSION_KEY = "chat_session_current"


class SessionUnknown(LookupError):
    """No chat session has this id."""


class SessionNotOwned(PermissionError):
    """The chat session exists but belongs to another browser."""


def chat_session_get_owned(*, session_id: str, owned_ids: Iterable[str]) -> ChatSession:
    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        raise SessionUnknown(session_id) from None
    session = ChatSession.objects.select_related("presskit").filter(pk=key).first()
    if session is None:
        raise SessionUnknown(session_id)
    if str(key) not in {str(owned) for owned in owned_ids}:
        raise SessionNotOwned(session_id)
    return session
