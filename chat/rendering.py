"""HTML for the chat page and the fragments sent over the WebSocket.

Every fragment comes from a template (autoescaped): the artist's words are plain text and are
escaped wherever they appear. Fragments swap out-of-band by id (`hx-swap-oob`).
"""
from __future__ import annotations

import functools
import logging
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html
from redis.exceptions import RedisError

from chat.bios import JOB_TYPE as BIO_JOB_TYPE
from chat.catalogue import Catalogue
from chat.chain import configured_ai_providers
from chat.kept import KeptAnswer, pending_answers_of
from chat.models import ChatMessage, ChatSession
from chat.sections import SECTIONS, quote_text, show_text
from chat.selectors import chat_messages, chat_session_stored
from chat.service_mode import service_mode
from chat.steps import STEPS, TOTAL_STEPS, display_value
from chat.texts import catalogue_for
from presskit.documents import link_of
from presskit.models import PHOTO_CREDIT_MAX_CHARS, BioSource, Presskit
from presskit.photos import photo_max_mb, photo_thumbnail_url
from presskit.players import player_of, players_of
from presskit.riders import RIDER_MAX_PAGES
from presskit.selectors import publication_of
from presskit.stats import WeekCounts, week_counts
from resilience.degradation import Level
from resilience.queue import job_waiting_exists

logger = logging.getLogger(__name__)


def chat_context(session: ChatSession, *, with_messages: bool, level: Level, with_panel: bool = True) -> dict[str, Any]:
    """What the chat's templates show; `with_panel=False` leaves out the draft panel's own parts
    (photos, sections, publishing): for a fragment that swaps only its steps."""
    catalogue = catalogue_for(session.language)
    presskit = session.presskit
    in_question = session.step_in_question
    step_texts = catalogue.steps[STEPS[in_question - 1].field] if in_question else None
    shown_step = min(session.current_step, TOTAL_STEPS)
    context: dict[str, Any] = {
        "session": session,
        "presskit": presskit,
        # An AI bio is on its way (not when AI was unconfigured since: then none will come).
        "bio_pending": session.is_complete and presskit.bio_source == BioSource.TEMPLATE
        and bool(configured_ai_providers())
        and job_waiting_exists(owner=f"presskit:{presskit.pk}", job_type=BIO_JOB_TYPE),
        "t": catalogue.ui,
        "mode": service_mode(level, session.language),
        # What the box says once every answer is in (while the chat can take writes).
        "complete_placeholder": catalogue.ui["placeholder_complete"] if session.is_complete else "",
        "total_steps": TOTAL_STEPS,
        "message_max": settings.CHAT_MESSAGE_MAX_CHARS,
        "shown_step": shown_step,
        "answered_count": session.current_step - 1,
        "progress_text": (
            catalogue.ui["progress_complete"]
            if session.is_complete
            else catalogue.ui["progress"].format(step=shown_step, total=TOTAL_STEPS)
        ),
        # The draft panel's summary, what a phone shows of it folded.
        "draft_summary": (
            catalogue.ui["draft_summary_complete"]
            if session.is_complete
            else catalogue.ui["draft_summary"].format(count=session.current_step - 1, total=TOTAL_STEPS)
        ),
        "draft": [
            {
                "number": step.number,
                "label": catalogue.steps[step.field].label,
                "value": display_value(getattr(presskit, step.field)),
                "answered": step.number < session.current_step,
                "editing": step.number == session.editing_step,
                "edit_label": catalogue.ui["edit_field"].format(label=catalogue.steps[step.field].label),
                "long": step.field == "story",  # edited in place in a bigger box
            }
            for step in STEPS
        ],
        "hint": step_texts.hint if step_texts else "",
        "suggestions": step_texts.suggestions if step_texts else (),
        "editing_label": catalogue.steps[STEPS[session.editing_step - 1].field].label
        if session.editing_step
        else "",
        # The answer being edited, put in the composer to change rather than retype.
        "editing_value": display_value(getattr(presskit, STEPS[session.editing_step - 1].field))
        if session.editing_step
        else "",
    }
    if not with_panel:
        return context
    context["photo_panel"] = _photos_context(presskit, catalogue)
    if session.is_complete and not session._state.adding:
        context.update(_sections_context(session, catalogue))
    if session.is_complete:
        publication = context["publication"] = publication_of(presskit, language=session.language)
        if publication.published_at:
            with translation.override(catalogue.language):
                date = date_format(timezone.localtime(publication.published_at), "DATE_FORMAT")
            context["publication_state"] = catalogue.ui["published_state"].format(
                number=publication.version_number, date=date)
        if publication.ever_published:
            context["week_counts"] = _week_text(week_counts(presskit), catalogue.ui)
    if with_messages:
        context["messages"] = chat_messages(session)
        context["kept_answers"] = _kept_answers(session)
    return context


def _photos_context(presskit: Presskit, catalogue: Catalogue) -> dict[str, Any]:
    """The press photos in the panel, in order: each stored one's smallest copy (or the one still
    waiting for the storage), its credit, and the moves it can make."""
    ui = catalogue.ui
    photos = [] if presskit._state.adding else list(presskit.photos.all())
    limit = settings.PHOTOS_PER_PRESSKIT
    return {
        "items": [{"id": photo.pk, "number": index + 1, "pending": not photo.name, "credit": photo.credit,
                   "thumb": photo_thumbnail_url(photo), "alt": ui["photo_alt"].format(number=index + 1),
                   "first": index == 0, "last": index == len(photos) - 1,
                   **{f"{name}_aria": ui[f"photo_{name}_aria"].format(number=index + 1)
                      for name in ("credit", "earlier", "later", "remove")}}
                  for index, photo in enumerate(photos)],
        "count_text": ui["photo_count"].format(count=len(photos), max=limit),
        "full": len(photos) >= limit,
        "full_text": ui["photo_full"].format(max=limit),
        "hint": ui["photo_hint"].format(max_mb=photo_max_mb(), max_photos=limit),
        "credit_max": PHOTO_CREDIT_MAX_CHARS,
    }


def _sections_context(session: ChatSession, catalogue: Catalogue) -> dict[str, Any]:
    """Once the seven steps are done: the optional sections in the panel (what each holds, to
    remove or change), the buttons that start one, and the box while one is being added."""
    presskit = session.presskit
    items = {
        "dates": [{"id": show.pk, "text": show_text(show)} for show in presskit.shows.all()],
        "quotes": [{"id": quote.pk, "text": quote_text(quote)} for quote in presskit.quotes.all()],
    }
    context: dict[str, Any] = {"sections": [
        {"name": name, "label": catalogue.sections[name].label, "several": section.several,
         "items": items.get(name, []), "value": section.current(presskit)}
        for name, section in SECTIONS.items()
    ], "rider_pdf": {"stored": bool(presskit.rider_pdf_name), "hint": catalogue.ui["rider_pdf_hint"].format(
        max_mb=settings.RIDER_MAX_MB, max_pages=RIDER_MAX_PAGES)}}
    # The links that can play on the page (their place among the artist's), and which one does.
    links = [link_of(value) for value in presskit.links]
    valid = [link for link in links if link]
    playable, playing = {player.url for player in players_of(valid)}, player_of(valid, presskit.player_link)
    context["players"] = [
        {"item": index, "label": link["label"], "text": link["text"], "playing": link["url"] == playing.url}
        for index, link in enumerate(links) if link and link["url"] in playable
    ]
    if session.section:  # being added: its hint, and the box says which, with a way out
        texts = catalogue.sections[session.section]
        context.update(hint=texts.hint, editing_label=texts.label, section_active=True,
                       editing_value=SECTIONS[session.section].current(presskit))
    elif session.editing_step is None:
        context["section_buttons"] = [{"name": name, "chip": texts.chip} for name, texts in catalogue.sections.items()]
    return context


def _week_text(week: WeekCounts, ui: dict[str, str]) -> str:
    """The week in one sentence: "Esta semana: 34 visitas, 9 escuchas, 1 descarga del PDF,
    2 descargas del ZIP y 5 clics en tus enlaces."."""
    parts = {event: ui[f"stats_{event}_{'one' if n == 1 else 'many'}"].format(n=n) for event, n in asdict(week).items()}
    return ui["stats_week"].format(**parts)


def _kept_answers(session: ChatSession) -> list[KeptAnswer]:
    """Answers kept during an outage and not applied yet, shown as pending; none when even
    Redis is away (the page must still open)."""
    try:
        return pending_answers_of(str(session.pk))
    except RedisError:
        logger.warning("kept answers not readable (session %s)", session.pk, exc_info=True)
        return []


def _render(template: str, context: dict[str, Any]) -> str:
    return render_to_string(f"chat/fragments/{template}", context)


def render_state(session: ChatSession, level: Level) -> str:
    """The whole chat state, sent on every (re)connect so a stale page catches up."""
    return _render("state.html", chat_context(session, with_messages=True, level=level))


def render_user_turn(message: ChatMessage, language: str) -> str:
    """The artist's message, shown as soon as it is saved."""
    return _render("user_turn.html", {"t": catalogue_for(language).ui, "message": message})


def render_kept_answer(kept: KeptAnswer, language: str) -> str:
    """An answer kept for later, shown in the transcript as pending until it is applied."""
    return _render("kept_answer.html", {"t": catalogue_for(language).ui, "kept": kept})


def render_reply_then_typing(message: ChatMessage, language: str) -> str:
    """A finished reply with more to come in the same turn (the bio): the typing bubble again."""
    return _render("reply_then_typing.html", {"t": catalogue_for(language).ui, "message": message})


def render_turn_done(session_id: str, message: ChatMessage | None, level: Level, *, steps_only: bool = False) -> str:
    """The finished reply with the state the session is in *now* (another tab may have moved it
    while the reply streamed): progress, draft, hint, suggestions, and the service mode.
    `steps_only`: the turn changed no more of the draft panel than its steps (an answer or an edit
    during the seven steps): while the presskit is still unfinished, only the panel's summary,
    steps and restart button are sent (the photos, sections and publishing parts, the costliest
    to render, change by their own fragments); once it is finished, the whole panel."""
    session = chat_session_stored(session_id)
    steps_only = steps_only and not session.is_complete
    context = chat_context(session, with_messages=False, level=level, with_panel=not steps_only)
    return _render("turn_done.html", {**context, "message": message, "steps_only": steps_only})


def render_draft(session: ChatSession, level: Level) -> str:
    """The draft panel alone, swapped in place (a change made outside a turn)."""
    return render_to_string("chat/_draft.html", {**chat_context(session, with_messages=False, level=level), "oob": True})


@functools.lru_cache(maxsize=64)
def render_service(level: Level, language: str) -> str:
    """The banner and service mode, pushed to every open chat when the level changes: the same
    for every chat of a language, so a broadcast renders it once per process, not per socket."""
    return _render("service.html", {"mode": service_mode(level, language)})


def render_edit_link(token: str, language: str) -> str:
    """A new private edit link, once, to the tab that asked for it (swapped into #private-link)."""
    return _render("edit_link.html", {"t": catalogue_for(language).ui, "edit_token": token, "oob": True})


def render_error(code: str, language: str, restore: str = "") -> str:
    """The error line; `restore`: the artist's text, put back in the empty composer (a message
    refused for its pace, not its content, must not be lost)."""
    return _render("error.html", {"text": catalogue_for(language).errors[code], "restore": restore})


def render_stream_start(language: str) -> str:
    return _render("stream_start.html", {"t": catalogue_for(language).ui})


def render_stream_wait(language: str) -> str:
    """The calm line in a typing bubble that has waited a while for its first word."""
    return _render("stream_wait.html", {"text": catalogue_for(language).ui["still_here"]})


STREAM_TOKEN = '<span id="stream-text" hx-swap-oob="beforeend">{}</span>'


def render_stream_token(text: str) -> str:
    """A streamed word, escaped: once per word of every reply, so no template engine."""
    return format_html(STREAM_TOKEN, text)


def render_stream_discard() -> str:
    return _render("stream_discard.html", {})
