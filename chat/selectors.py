"""Reads of chat sessions, with the ownership rule: a browser sees only its own chats.

A chat is stored on its artist's first answer, never on a page load (a crawler, a link preview
or `curl` leaves no row). Until then the page shows a chat with an id of its own, which the
browser holds in a signed cookie (NEW_CHAT_COOKIE); once stored, the chat moves into the
browser's session like any other it owns.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

from chat.models import ChatMessage, ChatSession
from chat.steps import step_by_number
from chat.texts import catalogue_for
from presskit.compiled_reads import CompiledGet
from presskit.models import Presskit

# The browser session holds the ids of the chats it owns (its current one last): the WebSocket
# refuses any other id.
OWNED_SESSIONS_KEY = "chat_sessions"
CURRENT_SESSION_KEY = "chat_session_current"
NEW_CHAT_COOKIE = "presskit_new_chat"
NEW_CHAT_SALT = "chat.selectors.new_chat"


class SessionUnknown(LookupError):
    """No chat session has this id."""


class SessionNotOwned(PermissionError):
    """The chat session exists but belongs to another browser."""


def new_chat_id(request: HttpRequest) -> str | None:
    """The id of the not-yet-stored chat this browser's NEW_CHAT_COOKIE names, if its signature holds."""
    value = request.get_signed_cookie(NEW_CHAT_COOKIE, default=None, salt=NEW_CHAT_SALT,
                                      max_age=settings.SESSION_COOKIE_AGE)
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


def chat_greeting(session: ChatSession) -> ChatMessage:
    """The assistant's first words (not saved): the greeting and the first question."""
    catalogue = catalogue_for(session.language)
    return ChatMessage(session=session, role=ChatMessage.Role.ASSISTANT, step=1, provider="template",
                       text=f"{catalogue.greeting} {catalogue.steps[step_by_number(1).field].question}")


def chat_session_unsaved(*, session_id: str, language: str) -> ChatSession:
    """The chat a browser sees before its first answer: not stored (`_state.adding`), empty."""
    return ChatSession(pk=session_id, presskit=Presskit(), language=catalogue_for(language).language)


def chat_messages(session: ChatSession) -> list[ChatMessage]:
    """The transcript; before the first answer, the greeting alone."""
    return [chat_greeting(session)] if session._state.adding else list(session.messages.all())


_SESSION = CompiledGet(lambda: ChatSession.objects.select_related("presskit"))
_SESSION_LOCKED = CompiledGet(lambda: ChatSession.objects.select_for_update().select_related("presskit"))


def chat_session_of(session_id: object, *, lock: bool = False) -> ChatSession | None:
    """A stored chat with its presskit, or None. `lock`: both rows locked until the transaction
    ends (select_for_update; only inside one). Read several times a turn, so compiled once."""
    return (_SESSION_LOCKED if lock else _SESSION).get(session_id)


def chat_session_stored(session_id: object, *, lock: bool = False) -> ChatSession:
    """`chat_session_of` for a chat that must be stored (ChatSession.DoesNotExist if not)."""
    session = chat_session_of(session_id, lock=lock)
    if session is None:
        raise ChatSession.DoesNotExist(f"chat {session_id} is not stored")
    return session


def chat_session_get_owned(*, session_id: str, owned_ids: Iterable[str], new_id: str | None = None,
                           language: str = settings.LANGUAGE_CODE) -> ChatSession:
    """The chat, if this browser owns it: one of `owned_ids`, or `new_id` (its NEW_CHAT_COOKIE),
    which is shown unsaved in `language` until its first answer stores it."""
    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        raise SessionUnknown(session_id) from None
    session = chat_session_of(key)
    if session is None:
        if str(key) == new_id:
            return chat_session_unsaved(session_id=str(key), language=language)
        raise SessionUnknown(session_id)
    if str(key) not in {str(owned) for owned in owned_ids} and str(key) != new_id:
        raise SessionNotOwned(session_id)
    return session
