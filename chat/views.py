"""The chat page. With JavaScript the page talks over the WebSocket; without it, its forms post
here and get the page back, so the chat works either way."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language_from_request
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from chat import conversation, rendering, services, throttle
from chat.frames import CommandKind, FrameError, command_from_values, credit_clean
from chat.models import ChatSession
from chat.selectors import (
    CURRENT_SESSION_KEY, NEW_CHAT_COOKIE, NEW_CHAT_SALT, OWNED_SESSIONS_KEY, SessionNotOwned, SessionUnknown,
    chat_session_get_owned, chat_session_of, chat_session_unsaved, new_chat_id,
)
from chat.texts import catalogue_for
from presskit.photos import (
    PhotoBusy, PhotoInvalid, PhotoNotKept, PhotoSizeLimit, photo_max_mb, photo_max_megapixels, photo_upload,
)
from presskit.clients import client_of_request
from presskit.models import PHOTO_CREDIT_MAX_CHARS
from presskit.riders import RIDER_MAX_PAGES, RiderInvalid, RiderSizeLimit, rider_upload
from presskit.services import edit_link_use
from resilience.degradation import Level, degradation_current
from resilience.fallbacks import Fallback


logger = logging.getLogger(__name__)

EDIT_TOKEN_MAX_LENGTH = 64  # ours are 22 characters; anything much longer is not worth a lookup


class _DiscardingSink:
    """The form post has no socket to stream to: open tabs get the fragments via the group."""

    async def typing(self) -> None:
        pass

    async def token(self, text: str) -> None:
        pass

    async def discard(self) -> None:
        pass

    async def show(self, html: str) -> None:
        pass


class TooManyChats(Exception):
    """This client started more chats than CLIENT_CHATS_LIMIT allows lately."""


def _session_for_request(request: HttpRequest) -> ChatSession:
    """The browser's current chat; else the chat it was shown and has answered since (claimed
    into its session now); else one not stored until its first answer (TooManyChats when this
    client started more chats than it may)."""
    language = get_language_from_request(request)
    owned = request.session.get(OWNED_SESSIONS_KEY, [])
    current = request.session.get(CURRENT_SESSION_KEY)
    session = chat_session_of(current) if current in owned else None
    if session is not None:
        services.chat_session_set_language(session=session, language=language)
        return session
    new_id = new_chat_id(request)
    if new_id and (session := chat_session_of(new_id)):
        request.session[OWNED_SESSIONS_KEY] = [*owned, new_id][-20:]
        request.session[CURRENT_SESSION_KEY] = new_id
        return session
    if new_id is None:
        if not throttle.chat_creation_allowed(client_of_request(request)):
            raise TooManyChats
        new_id = str(uuid.uuid4())
    return chat_session_unsaved(session_id=new_id, language=language)


def _new_chat_cookie_kept(response: HttpResponse, request: HttpRequest, session: ChatSession) -> HttpResponse:
    """A chat not stored yet is this browser's through NEW_CHAT_COOKIE; once stored (and in its
    session), the cookie goes."""
    if session._state.adding:
        response.set_signed_cookie(NEW_CHAT_COOKIE, str(session.pk), salt=NEW_CHAT_SALT,
                                   max_age=settings.SESSION_COOKIE_AGE, httponly=True, samesite="Lax",
                                   secure=settings.SESSION_COOKIE_SECURE)
    elif NEW_CHAT_COOKIE in request.COOKIES:
        response.delete_cookie(NEW_CHAT_COOKIE, samesite="Lax")
    return response


@database_sync_to_async
def _page(request: HttpRequest, level: Level, error: str = "", edit_token: str = "", draft: str = "",
          status: int | None = None) -> HttpResponse:
    """The chat page; with `error` its message (400 unless `status` says), `draft` back in the
    composer."""
    if level is Level.EMERGENCY:
        return _status_page(request)
    try:
        session = _session_for_request(request)
    except DatabaseError:  # the database is away (MINIMAL) before the manager noticed: say so
        logger.exception("chat page without its database")
        return _status_page(request, banner="banner_no_database")
    except TooManyChats:
        return _status_page(request, banner="banner_too_many_chats", status=429, refresh=False)
    context = rendering.chat_context(session, with_messages=True, level=level)
    context["error"] = catalogue_for(session.language).errors[error] if error else ""
    context["photo_notice"] = _photo_notice_pop(request, session.language)
    context["rider_notice"] = _rider_notice_pop(request, session.language)
    context["edit_token"] = edit_token  # a new private edit link, shown once (never stored in clear)
    context["draft_text"] = draft
    response = render(request, "chat/chat.html", context, status=status or (400 if error else 200))
    return _new_chat_cookie_kept(response, request, session)


def _status_page(request: HttpRequest, banner: str = "banner_emergency", status: int = 503,
                 refresh: bool = True) -> HttpResponse:
    """No chat, only a page that says why, and comes back by itself when the service is back
    (EMERGENCY, or no database; not when this client has started too many chats)."""
    catalogue = catalogue_for(get_language_from_request(request))
    return render(request, "chat/status.html", {"t": catalogue.ui, "language": catalogue.language,
                                                "banner": catalogue.ui[banner], "refresh": refresh}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
async def chat_home(request: HttpRequest) -> HttpResponse:
    # Read off Channels' database thread: Redis must not hold up other chats' database work.
    level = (await sync_to_async(degradation_current, thread_sensitive=False)()).level
    if request.method != "POST":
        return await _page(request, level)
    try:
        session = await database_sync_to_async(_session_for_request)(request)
    except DatabaseError:
        logger.exception("chat form post without its database")
        return await sync_to_async(_status_page)(request, banner="banner_no_database")
    except TooManyChats:
        return await sync_to_async(_status_page)(request, banner="banner_too_many_chats", status=429, refresh=False)
    try:
        command = command_from_values(request.POST)
        edit_token = await conversation.command_handle(
            session_id=str(session.pk), command=command, sink=_DiscardingSink(), origin=None,
            language=session.language,
        )
    except conversation.TooFast as error:
        draft = command.text if command.kind is CommandKind.MESSAGE else ""  # an edit's box is its own
        return await _page(request, level, error.code, draft=draft, status=429)
    except (FrameError, services.InvalidAction, conversation.ServiceReadOnly) as error:
        return await _page(request, level, error.code)
    if edit_token:  # shown in this answer, not after a redirect: it is kept nowhere in clear
        return await _page(request, level, edit_token=edit_token)
    anchor = "#photo" if command.kind is CommandKind.PHOTO else "#composer"  # back where the artist was
    return _new_chat_cookie_kept(HttpResponseRedirect(reverse("chat:home") + anchor), request, session)


@require_safe
def edit_link_open(request: HttpRequest, token: str) -> HttpResponse:
    """A private edit link: this browser may edit the presskit from now on (its chat becomes
    this browser's current one). The token leaves the address bar at once (a redirect), and
    is never sent on as a referrer."""
    session = None
    if len(token) <= EDIT_TOKEN_MAX_LENGTH and (presskit := edit_link_use(token=token)) is not None:
        session = ChatSession.objects.filter(presskit=presskit).first()
    if session is None:
        catalogue = catalogue_for(get_language_from_request(request))
        response = render(request, "chat/edit_link_invalid.html", {"t": catalogue.ui, "language": catalogue.language},
                          status=404)
    else:
        request.session.cycle_key()  # a new session id for a browser that gains a presskit
        owned = [chat for chat in request.session.get(OWNED_SESSIONS_KEY, []) if chat != str(session.pk)]
        request.session[OWNED_SESSIONS_KEY] = [*owned, str(session.pk)][-20:]
        request.session[CURRENT_SESSION_KEY] = str(session.pk)
        response = HttpResponseRedirect(reverse("chat:home"))
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


# --- The press photo -------------------------------------------------------------------------------
PHOTO_NOTICE_KEY = "photo_notice"  # a no-JavaScript post's outcome, shown once by the next page
PHOTO_OUTCOMES = {"stored": "stored", "queued": "queued", "failed": "queued"}  # code -> how it looks
PHOTO_ERRORS = ("type", "too_big", "too_many_pixels", "broken", "empty", "too_many", "credit", "unavailable",
                "not_yours")


@dataclass(frozen=True)
class PhotoNotice:
    kind: str  # "stored", "queued" or "error"
    text: str


def _photo_notice(code: str, language: str) -> PhotoNotice:
    ui = catalogue_for(language).ui
    if code in PHOTO_OUTCOMES:
        return PhotoNotice(PHOTO_OUTCOMES[code], ui[f"photo_{code}"])
    return PhotoNotice("error", ui[f"photo_error_{code}"].format(
        max_mb=photo_max_mb(), max_mp=photo_max_megapixels(), max_photos=settings.PHOTOS_PER_PRESSKIT,
        max_credit=PHOTO_CREDIT_MAX_CHARS))


def _photo_notice_pop(request: HttpRequest, language: str) -> PhotoNotice | None:
    code = request.session.pop(PHOTO_NOTICE_KEY, None)
    return _photo_notice(code, language) if code in (*PHOTO_OUTCOMES, *PHOTO_ERRORS) else None


class UploadRefused(Exception):
    """An upload with no chat of this browser's to take it: `code` names the message."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code, self.status = code, status


def _upload_chat(request: HttpRequest, what: str) -> ChatSession:
    """The chat an upload form names (or the current one), which the browser must own, while the
    database takes writes; else UploadRefused."""
    if degradation_current().level >= Level.MINIMAL:  # no database writes now
        raise UploadRefused("unavailable", 503)
    try:
        return chat_session_get_owned(
            session_id=request.POST.get("session") or request.session.get(CURRENT_SESSION_KEY, ""),
            owned_ids=request.session.get(OWNED_SESSIONS_KEY, []),
            new_id=new_chat_id(request), language=get_language_from_request(request),
        )
    except (SessionUnknown, SessionNotOwned):
        raise UploadRefused("not_yours", 403) from None
    except DatabaseError:
        logger.exception("%s upload without its database", what)
        raise UploadRefused("unavailable", 503) from None


@csrf_exempt  # checked by _chat_photo, once the size limit is in place (the check reads the body)
@require_POST
def chat_photo(request: HttpRequest) -> HttpResponse:
    """One more press photo, with its credit, posted from the draft panel (multipart). Without JavaScript the browser
    goes back to the page at #photo, where the outcome is shown; with htmx the answer is the
    photo panel. A photo that is too big is dropped while the body is read."""
    limit = PhotoSizeLimit(request)
    request.upload_handlers.insert(0, limit)
    return _chat_photo(request, limit)


@csrf_protect
def _chat_photo(request: HttpRequest, limit: PhotoSizeLimit) -> HttpResponse:
    try:
        session = _upload_chat(request, "photo")
        if session._state.adding:  # a photo before any answer: the chat is stored with it
            session = services.chat_session_ensure(session_id=str(session.pk), language=session.language)
    except UploadRefused as refused:
        return _photo_refused(request, refused.code, status=refused.status)
    except DatabaseError:
        logger.exception("photo upload without its database")
        return _photo_refused(request, "unavailable", status=503)
    try:
        upload = request.FILES.get("photo")
        if limit.too_big:
            raise PhotoInvalid("too_big")
        if upload is None:
            raise PhotoInvalid("empty")
        try:
            credit = credit_clean(request.POST.get("credit", ""))
        except FrameError:
            raise PhotoInvalid("credit") from None
        result = photo_upload(presskit_id=str(session.presskit_id), upload=upload, credit=credit)
    except PhotoInvalid as error:
        return _photo_answer(request, session, error.code, status=400)
    except PhotoBusy:
        return _photo_answer(request, session, "unavailable", status=503)
    except PhotoNotKept:
        logger.exception("photo upload not kept (chat %s)", session.pk)
        return _photo_answer(request, session, "unavailable", status=503)
    except DatabaseError:
        logger.exception("photo upload without its database (chat %s)", session.pk)
        return _photo_refused(request, "unavailable", status=503)
    if result.fallback is Fallback.NONE:
        return _photo_answer(request, session, "stored", status=200)
    return _photo_answer(request, session, "queued" if result.fallback is Fallback.QUEUED else "failed",
                         status=202)


def _photo_answer(request: HttpRequest, session: ChatSession, code: str, *, status: int) -> HttpResponse:
    """The outcome: the photo panel (htmx), back to the page (no JavaScript, accepted) or the
    page with the message (no JavaScript, refused)."""
    if not request.htmx and status < 400:
        request.session[PHOTO_NOTICE_KEY] = code
        return HttpResponseRedirect(reverse("chat:home") + "#photo")
    session.presskit.refresh_from_db()
    level = degradation_current().level
    context = rendering.chat_context(session, with_messages=not request.htmx, level=level)
    context["photo_notice"] = _photo_notice(code, session.language)
    return render(request, "chat/_photo.html" if request.htmx else "chat/chat.html", context, status=status)


def _photo_refused(request: HttpRequest, code: str, *, status: int) -> HttpResponse:
    """No chat of this browser's to show: only the message and the way back."""
    catalogue = catalogue_for(get_language_from_request(request))
    context = {"t": catalogue.ui, "language": catalogue.language, "refused": True,
               "photo_notice": _photo_notice(code, catalogue.language)}
    return render(request, "chat/_photo.html" if request.htmx else "chat/photo_refused.html", context,
                  status=status)


# --- The tech rider as a PDF -----------------------------------------------------------------------
RIDER_NOTICE_KEY = "rider_notice"  # as PHOTO_NOTICE_KEY
RIDER_ERRORS = ("type", "too_big", "broken", "encrypted", "pages", "empty", "not_complete", "unavailable",
                "not_yours")


def _rider_notice(code: str, language: str) -> PhotoNotice:
    ui = catalogue_for(language).ui
    if code == "stored":
        return PhotoNotice("stored", ui["rider_pdf_stored"])
    return PhotoNotice("error", ui[f"rider_pdf_error_{code}"].format(max_mb=settings.RIDER_MAX_MB,
                                                                      max_pages=RIDER_MAX_PAGES))


def _rider_notice_pop(request: HttpRequest, language: str) -> PhotoNotice | None:
    code = request.session.pop(RIDER_NOTICE_KEY, None)
    return _rider_notice(code, language) if code in ("stored", *RIDER_ERRORS) else None


@csrf_exempt  # checked by _chat_rider, once the size limit is in place (the check reads the body)
@require_POST
def chat_rider(request: HttpRequest) -> HttpResponse:
    """The tech rider as a PDF, posted from the optional sections (multipart), once the seven
    steps are done; answered as the photo is (chat_photo), with the rider's part of the panel."""
    limit = RiderSizeLimit(request)
    request.upload_handlers.insert(0, limit)
    return _chat_rider(request, limit)


@csrf_protect
def _chat_rider(request: HttpRequest, limit: RiderSizeLimit) -> HttpResponse:
    try:
        session = _upload_chat(request, "rider")
    except UploadRefused as refused:
        return _rider_refused(request, refused.code, status=refused.status)
    if session._state.adding or not session.is_complete:  # the panel has no rider group yet
        return _rider_refused(request, "not_complete", status=400)
    try:
        upload = request.FILES.get("rider")
        if limit.too_big:
            raise RiderInvalid("too_big")
        if upload is None:
            raise RiderInvalid("empty")
        rider_upload(presskit_id=str(session.presskit_id), upload=upload)
    except RiderInvalid as error:
        return _rider_answer(request, session, error.code, status=400)
    except DatabaseError:
        logger.exception("rider upload without its database (chat %s)", session.pk)
        return _rider_refused(request, "unavailable", status=503)
    except OSError:
        logger.exception("rider upload not stored (chat %s)", session.pk)
        return _rider_answer(request, session, "unavailable", status=503)
    return _rider_answer(request, session, "stored", status=200)


def _rider_answer(request: HttpRequest, session: ChatSession, code: str, *, status: int) -> HttpResponse:
    """The outcome: the rider's part of the panel (htmx), back to the page (no JavaScript,
    accepted) or the page with the message (no JavaScript, refused)."""
    if not request.htmx and status < 400:
        request.session[RIDER_NOTICE_KEY] = code
        return HttpResponseRedirect(reverse("chat:home") + "#rider-pdf")
    session.presskit.refresh_from_db()
    context = rendering.chat_context(session, with_messages=not request.htmx, level=degradation_current().level)
    context["rider_notice"] = _rider_notice(code, session.language)
    return render(request, "chat/_rider.html" if request.htmx else "chat/chat.html", context, status=status)


def _rider_refused(request: HttpRequest, code: str, *, status: int) -> HttpResponse:
    """No chat of this browser's to show: only the message and the way back."""
    catalogue = catalogue_for(get_language_from_request(request))
    context = {"t": catalogue.ui, "language": catalogue.language, "refused": True,
               "rider_notice": _rider_notice(code, catalogue.language)}
    return render(request, "chat/_rider.html" if request.htmx else "chat/rider_refused.html", context,
                  status=status)
