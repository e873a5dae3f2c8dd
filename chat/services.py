"""Writes of the conversation. Each runs in one transaction and returns what to reply.

The artist's message is saved first, then validated, then the draft and the step are updated;
the reply is written afterwards by the provider chain and recorded by `reply_record`. So no
failure while replying can lose an answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from chat.bios import bio_job_request
from chat.chain import Reply, configured_ai_providers
from chat.models import ChatMessage, ChatSession
from chat.sections import REMOVABLE, SECTION_FIELDS, SECTIONS, section_item_remove
from chat.selectors import chat_greeting, chat_session_of, chat_session_stored
from chat.providers.base import ReplyKind, ReplyRequest
from chat.steps import STEPS, TOTAL_STEPS, InvalidAnswer, answers_of, display_value, step_by_number
from chat.texts import catalogue_for
from presskit.documents import link_of
from presskit.integrations import integrations_enqueue
from presskit.models import BIO_FIELDS, Presskit
from presskit.photos import photo_move, photo_remove
from presskit.players import player_of
from presskit.riders import rider_pdf_remove
from presskit.services import (
    PublishRefused, edit_link_create, presskit_listed_set, presskit_publish, presskit_unpublish,
)
from resilience.queue import job_enqueue


@dataclass(frozen=True)
class Turn:
    """The outcome of what the artist did, and what the reply must be about."""

    session: ChatSession
    request: ReplyRequest
    message: ChatMessage | None = None  # the artist's saved message, when the turn began with one


class InvalidAction(ValueError):
    """An action the session's state does not allow; `code` names the error text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _turn(session: ChatSession, kind: ReplyKind, step: int, next_step: int | None,
          message: ChatMessage | None = None, **extra: object) -> Turn:
    request = ReplyRequest(
        session_id=str(session.pk),
        language=session.language,
        kind=kind,
        step=step,
        next_step=next_step,
        artist_name=session.presskit.artist_name,
        answers=answers_of(session.presskit),
        **extra,
    )
    return Turn(session=session, request=request, message=message)


def _locked(session_id: str) -> ChatSession:
    session = chat_session_of(session_id, lock=True)
    if session is None:  # a chat not stored yet: only an answer can start it
        raise InvalidAction("not_started")
    return session


def chat_session_create(*, language: str, session_id: str | None = None) -> ChatSession:
    """A new chat (with `session_id`: the one its browser was shown) with its empty presskit
    draft and the assistant's greeting."""
    with transaction.atomic():
        session = ChatSession.objects.create(pk=session_id, presskit=Presskit.objects.create(),
                                             language=catalogue_for(language).language)
        chat_greeting(session).save()
    return session


def chat_session_ensure(*, session_id: str, language: str) -> ChatSession:
    """The chat, stored now if it was not yet (its browser's first answer, or its photo)."""
    try:
        with transaction.atomic():  # a savepoint: another tab's first answer may store it first
            return chat_session_create(language=language, session_id=session_id)
    except IntegrityError:
        return chat_session_stored(session_id)  # by the other tab


def _locked_or_created(session_id: str, language: str | None) -> ChatSession:
    """The chat, locked; stored first if this is its first answer and `language` says how."""
    try:
        return _locked(session_id)
    except InvalidAction:
        if language is None:
            raise
    chat_session_ensure(session_id=session_id, language=language)
    return _locked(session_id)


def unanswered_chats_remove(*, older_than: timedelta) -> int:
    """Drafts whose chat never got an answer and has been untouched for `older_than`, removed
    with their chat; a photo or a publication keeps a draft. Chats are stored on their first
    answer, so these are rows left by earlier releases (one per page load). Returns how many."""
    unanswered = Presskit.objects.filter(
        chat_session__updated_at__lt=timezone.now() - older_than, versions__isnull=True, photos__isnull=True,
    ).exclude(chat_session__messages__role=ChatMessage.Role.USER)
    _, removed = Presskit.objects.filter(pk__in=unanswered.values("pk")).delete()
    return removed.get(Presskit._meta.label, 0)


def chat_session_set_language(*, session: ChatSession, language: str) -> None:
    language = catalogue_for(language).language
    if session.language != language:
        session.language = language
        session.save(update_fields=["language", "updated_at"])


def answer_submit(*, session_id: str, text: str, kept_id: str | None = None,
                  new_chat_language: str | None = None) -> Turn:
    """Save the artist's message, validate it for the step in question, and move on. `kept_id`:
    an answer kept during an outage; applying it twice raises IntegrityError (and changes nothing).
    `new_chat_language`: the chat may not be stored yet (this is its first answer): store it."""
    with transaction.atomic():
        session = _locked_or_created(session_id, new_chat_language)
        step_number = session.step_in_question
        message = ChatMessage.objects.create(
            session=session, role=ChatMessage.Role.USER, step=step_number, text=text, kept_id=kept_id
        )
        if step_number is None:
            return _section_answer(session, message, text)

        step = step_by_number(step_number)
        try:
            value = step.validate(text)
        except InvalidAnswer as invalid:
            return _turn(session, ReplyKind.REASK, step_number, step_number, message,
                         reason_code=invalid.code, reason_params=invalid.params)

        presskit = session.presskit
        setattr(presskit, step.field, value)
        presskit.save(update_fields=[step.field, "updated_at"])
        answer = display_value(value)
        if session.editing_step is not None:
            session.editing_step = None
            session.save(update_fields=["editing_step", "updated_at"])
            next_step = None if session.is_complete else session.current_step
            if session.is_complete:
                _finish_written_ahead(session, message)
            return _turn(session, ReplyKind.EDIT_DONE, step_number, next_step, message, answer=answer)

        session.current_step = step_number + 1
        session.save(update_fields=["current_step", "updated_at"])
        if session.is_complete:
            _finish_written_ahead(session, message)
            return _turn(session, ReplyKind.COMPLETE, step_number, None, message, answer=answer)
        return _turn(session, ReplyKind.ADVANCE, step_number, session.current_step, message, answer=answer)


def _section_asked(text: str, language: str) -> str | None:
    """The optional section a message names (its button's words, or one of its keywords)."""
    words = set(re.findall(r"\w+", text.casefold()))
    for name, texts in catalogue_for(language).sections.items():
        if text.strip().casefold() == texts.chip.casefold() or words & set(texts.keywords):
            return name
    return None


def _section_answer(session: ChatSession, message: ChatMessage, text: str) -> Turn:
    """A message once the seven steps are done: an answer to the section being added, the word
    that ends it, or the name of a section to start; else the offer of them."""
    if not session.section:
        name = _section_asked(text, session.language)
        if name is None:
            return _turn(session, ReplyKind.ALREADY_COMPLETE, TOTAL_STEPS, None, message)
        return _section_begin(session, name, message)
    name = session.section
    if text.strip().casefold().rstrip(".!") in catalogue_for(session.language).done_words:
        return _section_end(session, message)
    section = SECTIONS[name]
    try:
        shown = section.save(session.presskit, section.validate(text))
    except InvalidAnswer as invalid:
        return _turn(session, ReplyKind.SECTION_REASK, TOTAL_STEPS, None, message, section=name,
                     reason_code=invalid.code, reason_params=invalid.params)
    if not section.several:
        session.section = ""
        session.save(update_fields=["section", "updated_at"])
    return _turn(session, ReplyKind.SECTION_SAVED, TOTAL_STEPS, None, message, section=name, answer=shown)


def _section_begin(session: ChatSession, name: str, message: ChatMessage | None = None) -> Turn:
    session.section = name
    session.save(update_fields=["section", "updated_at"])
    return _turn(session, ReplyKind.SECTION_ASK, TOTAL_STEPS, None, message, section=name)


def _section_end(session: ChatSession, message: ChatMessage | None = None) -> Turn:
    name, session.section = session.section, ""
    session.save(update_fields=["section", "updated_at"])
    return _turn(session, ReplyKind.SECTION_DONE, TOTAL_STEPS, None, message, section=name)


def section_start(*, session_id: str, name: str) -> Turn:
    """Start adding an optional section (its button in the panel or under the box)."""
    with transaction.atomic():
        session = _locked(session_id)
        if not session.is_complete or session.editing_step is not None:
            raise InvalidAction("not_complete")
        if name not in SECTIONS:
            raise InvalidAction("unknown_action")
        return _section_begin(session, name)


def section_item_remove_from_chat(*, session_id: str, name: str, item: int | None) -> ChatSession:
    """A date or a quote taken out in the panel, or a section of one answer emptied."""
    with transaction.atomic():
        session = _locked(session_id)
        if name not in REMOVABLE or not section_item_remove(session.presskit, name, item):
            raise InvalidAction("nothing_to_remove")
        return session


def player_choose_from_chat(*, session_id: str, item: int | None) -> ChatSession:
    """The public page's player plays the artist's link number `item` (one that can play)."""
    with transaction.atomic():
        session = _locked(session_id)
        links = session.presskit.links
        if not session.is_complete:
            raise InvalidAction("not_complete")
        link = link_of(links[item]) if item is not None and 0 <= item < len(links) else None
        player = player_of([link], chosen=link["url"]) if link else None
        if player is None:
            raise InvalidAction("unknown_action")
        session.presskit.player_link = player.url
        session.presskit.save(update_fields=["player_link", "updated_at"])
        return session


def photo_change_from_chat(*, session_id: str, operation: str, photo_id: str, credit: str = "") -> ChatSession:
    """A press photo changed in the panel: its credit set, moved earlier or later in the order
    (nothing happens at either end), or taken out. The presskit's photos are locked: a worker
    recording a stored copy, or another tab, waits for this change."""
    with transaction.atomic():
        session = _locked(session_id)
        presskit = session.presskit
        photos = list(presskit.photos.select_for_update())
        photo = next((each for each in photos if str(each.pk) == photo_id), None)
        if photo is None:
            raise InvalidAction("photo_gone")
        if operation == "credit":
            photo.credit = credit
            photo.save(update_fields=["credit"])
        elif operation == "remove":
            photo_remove(presskit, photo)
        else:
            photo_move(photos, photo, -1 if operation == "earlier" else 1)
        presskit.save(update_fields=["updated_at"])
        return session


def finish_version(message: ChatMessage) -> str:
    """The presskit version an answer that finishes it makes (what its bio and sends are for)."""
    return f"answer:{message.pk}"


def _finish_written_ahead(session: ChatSession, message: ChatMessage) -> None:
    """The AI bio and the sends to the integrations, queued with the answer that finishes the
    presskit. The turn does them right after (taking these jobs); if the process dies first, a
    worker does them once QUEUE_WRITE_AHEAD_GRACE is over."""
    version, delay = finish_version(message), settings.QUEUE_WRITE_AHEAD_GRACE
    if configured_ai_providers():
        job_enqueue(bio_job_request(session, version, delay=delay))
    integrations_enqueue(presskit_id=str(session.presskit_id), version=version, delay=delay)


def answer_edit_start(*, session_id: str, step: int) -> Turn:
    """Point the next answer at an earlier, already answered step."""
    with transaction.atomic():
        session = _locked(session_id)
        if not 1 <= step < session.current_step:
            raise InvalidAction("bad_step")
        session.editing_step = step
        session.section = ""  # the edit takes over from a section being added
        session.save(update_fields=["editing_step", "section", "updated_at"])
        current = display_value(getattr(session.presskit, step_by_number(step).field))
        return _turn(session, ReplyKind.EDIT_ASK, step, step, answer=current)


def answer_set(*, session_id: str, step: int, text: str) -> Turn:
    """An answer changed in place from the review: as if the artist chose to edit that step and
    answered it (saved first, validated, asked again with the reason when invalid)."""
    with transaction.atomic():
        answer_edit_start(session_id=session_id, step=step)
        return answer_submit(session_id=session_id, text=text)


def answer_edit_cancel(*, session_id: str) -> Turn:
    """Leave an edit unchanged (or the section being added) and go back to where the
    conversation was."""
    with transaction.atomic():
        session = _locked(session_id)
        if session.section:
            return _section_end(session)
        if session.editing_step is None:
            raise InvalidAction("not_editing")
        step = session.editing_step
        session.editing_step = None
        session.save(update_fields=["editing_step", "updated_at"])
        if session.is_complete:
            return _turn(session, ReplyKind.ALREADY_COMPLETE, step, None)
        return _turn(session, ReplyKind.RESUME, step, session.current_step)


def chat_session_restart(*, session_id: str) -> Turn:
    """Start the seven steps again with an empty draft; the transcript is kept."""
    with transaction.atomic():
        session = _locked(session_id)
        presskit = session.presskit
        # The answers, the bio written from them and the optional sections go; the photos stay
        # (they are not answers, and a worker may be storing one right now).
        cleared = [step.field for step in STEPS] + list(BIO_FIELDS) + list(SECTION_FIELDS) + ["player_link"]
        for name in cleared:
            setattr(presskit, name, presskit._meta.get_field(name).get_default())
        presskit.save(update_fields=[*cleared, "updated_at"])
        presskit.shows.all().delete()
        presskit.quotes.all().delete()
        rider_pdf_remove(presskit)
        session.current_step = 1
        session.editing_step = None
        session.section = ""
        session.save(update_fields=["current_step", "editing_step", "section", "updated_at"])
        return _turn(session, ReplyKind.RESTART, 1, 1)


def reply_record(*, session_id: str, request: ReplyRequest, reply: Reply) -> ChatMessage:
    return ChatMessage.objects.create(
        session_id=session_id, role=ChatMessage.Role.ASSISTANT, step=request.next_step or request.step,
        text=reply.text, provider=reply.provider, fallback_used=reply.fallback_used,
    )


@dataclass(frozen=True)
class PresskitActionDone:
    """What publish, unpublish, (un)listing or a new edit link did: the assistant's word on it,
    and a new private edit link's token when one was made (shown once, to the asking tab only)."""

    session: ChatSession
    message: ChatMessage
    edit_token: str = ""


def _say(session: ChatSession, key: str, **values: object) -> ChatMessage:
    text = catalogue_for(session.language).publishing[key].format(**values)
    return ChatMessage.objects.create(session=session, role=ChatMessage.Role.ASSISTANT, provider="template", text=text)


def presskit_publish_from_chat(*, session_id: str) -> PresskitActionDone:
    """Publish the chat's finished presskit (the draft as the next version). The first time, a
    private edit link is made too, so the artist can come back from any device."""
    with transaction.atomic():
        session = _locked(session_id)
        if not session.is_complete:
            raise InvalidAction("not_complete")
        first = not session.presskit.versions.exists()
        try:
            version = presskit_publish(presskit_id=str(session.presskit_id), language=session.language)
        except PublishRefused as refused:
            raise InvalidAction(refused.code) from None
        url = reverse("public_page", args=[version.document["slug"]])
        message = _say(session, "published_first" if first else "published_again", url=url, number=version.number)
        token = edit_link_create(presskit_id=str(session.presskit_id)) if first else ""
        return PresskitActionDone(session, message, token)


def presskit_unpublish_from_chat(*, session_id: str) -> PresskitActionDone:
    with transaction.atomic():
        session = _locked(session_id)
        if not presskit_unpublish(presskit_id=str(session.presskit_id)):
            raise InvalidAction("not_published")
        return PresskitActionDone(session, _say(session, "unpublished"))


def edit_link_new_from_chat(*, session_id: str) -> PresskitActionDone:
    with transaction.atomic():
        session = _locked(session_id)
        if not session.presskit.versions.exists():
            raise InvalidAction("not_published")
        token = edit_link_create(presskit_id=str(session.presskit_id))
        return PresskitActionDone(session, _say(session, "edit_link"), token)


def _listed_set_from_chat(session_id: str, listed: bool) -> PresskitActionDone:
    with transaction.atomic():
        session = _locked(session_id)
        if not session.is_complete:
            raise InvalidAction("not_complete")
        try:
            presskit = presskit_listed_set(presskit_id=str(session.presskit_id), listed=listed)
        except PublishRefused as refused:
            raise InvalidAction(refused.code) from None
        key = "listed" if listed else "unlisted"
        if presskit.published_version_id is None:  # not public now: the choice waits for the page
            key = f"{key}_unpublished"
        return PresskitActionDone(session, _say(session, key))


def presskit_list_from_chat(*, session_id: str) -> PresskitActionDone:
    return _listed_set_from_chat(session_id, listed=True)


def presskit_unlist_from_chat(*, session_id: str) -> PresskitActionDone:
    return _listed_set_from_chat(session_id, listed=False)
