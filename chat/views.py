"""The chat page. With JavaScript the page talks over the WebSocket; without it, its forms post
here and get the page back, so the chat works either way."""
from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language_from_request
from django.views.decorators.http import require_http_methods

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from chat import conversation, rendering, services
from chat.frames import FrameError, command_from_values
from chat.models import ChatSession
from chat.selectors import CURRENT_SESSION_KEY, OWNED_SESSIONS_KEY
from chat.texts import catalogue_for
from resilience.degradation import Level, degradation_current


logger = logging.getLogger(__name__)


class _DiscardingSink:
    """The form post has no socket to stream to: open tabs get the fragments via the group."""

    async def token(self, text: str) -> None:
        pass

    async def discard(self) -> None:
        pass

    async def show(self, html: str) -> None:
        pass


def _session_for_request(request: HttpRequest) -> ChatSession:
    """The browser's current chat, or a new one claimed by this browser."""
    language = get_language_from_request(request)
    session_id = request.session.get(CURRENT_SESSION_KEY)
    session = ChatSession.objects.select_related("presskit").filter(pk=session_id).first() if session_id else None
    if session is None or session_id not in request.session.get(OWNED_SESSIONS_KEY, []):
        session = services.chat_session_create(language=language)
        owned = request.session.get(OWNED_SESSIONS_KEY, [])
        request.session[OWNED_SESSIONS_KEY] = [*owned, str(session.pk)][-20:]
        request.session[CURRENT_SESSION_KEY] = str(session.pk)
    else:
        services.chat_session_set_language(session=session, language=language)
    return session


@database_sync_to_async
def _page(request: HttpRequest, level: Level, error: str = "") -> HttpResponse:
    if level is Level.EMERGENCY:
        return _status_page(request)
    try:
        session = _session_for_request(request)
    except DatabaseError:  # the database is away (MINIMAL) before the manager noticed: say so
        logger.exception("chat page without its database")
        return _status_page(request, banner="banner_minimal")
    context = rendering.chat_context(session, with_messages=True, level=level)
    context["error"] = catalogue_for(session.language).errors[error] if error else ""
    return render(request, "chat/chat.html", context, status=400 if error else 200)


def _status_page(request: HttpRequest, banner: str = "banner_emergency") -> HttpResponse:
    """No chat, only a page that says why and comes back by itself (EMERGENCY, or no database)."""
    catalogue = catalogue_for(get_language_from_request(request))
    return render(request, "chat/status.html",
                  {"t": catalogue.ui, "language": catalogue.language, "banner": catalogue.ui[banner]}, status=503)


@require_http_methods(["GET", "POST"])
async def chat_home(request: HttpRequest) -> HttpResponse:
    # Read off Channels' database thread: Redis must not hold up other chats' database work.
    level = (await sync_to_async(degradation_current, thread_sensitive=False)()).level
    if request.method == "GET":
        return await _page(request, level)
    try:
        session = await database_sync_to_async(_session_for_request)(request)
    except DatabaseError:
        logger.exception("chat form post without its database")
        return await sync_to_async(_status_page)(request, banner="banner_minimal")
    try:
        command = command_from_values(request.POST)
        await conversation.command_handle(
            session_id=str(session.pk), command=command, sink=_DiscardingSink(), origin=None
        )
    except (FrameError, services.InvalidAction, conversation.ServiceReadOnly) as error:
        return await _page(request, level, error.code)
    return HttpResponseRedirect(reverse("chat:home") + "#composer")
