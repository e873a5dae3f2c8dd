"""The artist's bio, in one line (~15 words, for festival programmes), short (~50 words) and long
(~200 words), written after the seventh answer and again after any later edit (DESIGN.md).

An AI provider writes it when one can: the chain's AI members in order, each through its own
breaker and deadlines, its requests logged like a turn's. When none can, the artist gets a bio
from the template responder at once and the AI bio waits in the queue (job `chat.bio`, on the
`ai` gate: some AI provider's breaker lets calls through). When a worker writes it, it replaces
the template bio, is saved, and is pushed to the artist's open page with a message.

A bio is for one set of answers (its fingerprint): a queued bio whose answers were edited since
is set aside without calling any provider, and never overwrites a newer bio.

With AI configured, every bio saved (the AI's or the template's) is then put in the page's other
languages by an AI provider (job `presskit.bio_translate`, on the same gate). No template
translates: while no provider answers, the job waits. A translation is for one set of bios (their
hash): one made from bios changed since is set aside, and saving new bios drops the old ones.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from dataclasses import dataclass

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import transaction

from chat.chain import chain_from_settings, configured_ai_providers
from chat.db import in_database_pool
from chat.groups import group_publish_now
from chat.models import ChatMessage, ChatSession
from chat.prompts import BIO_LABELS, ONE_LINER_MAX_WORDS, BioTranslationRequest
from chat.providers.ai import AIMember, ProviderFailed
from chat.providers.base import ReplyKind, ReplyRequest
from chat.providers.template import template_bios, template_one_liner
from chat.selectors import chat_session_of, chat_session_stored
from chat.steps import TOTAL_STEPS, answers_of
from chat.texts import catalogue_for
from chat.turn_log import TurnLog, current_turn_log, turn_log_write
from presskit.integrations import integrations_enqueue
from presskit.models import BIO_FIELDS, BioSource
from presskit.signals import presskit_changed_send
from resilience.breakers import CircuitOpenError
from resilience.degradation import Level, degradation_current
from resilience.drain import Gate, breaker_gate
from resilience.fallbacks import Fallback, FallbackPlan, aexecute_with_fallback
from resilience.machine import State
from resilience.queue import JobRequest, JobType, Priority, job_enqueue

logger = logging.getLogger(__name__)

JOB_TYPE = "chat.bio"
TRANSLATION_JOB_TYPE = "presskit.bio_translate"
GATE = "ai"
SHORT_WORDS = (15, 120)  # what a short bio may run to, in words
LONG_WORDS = (60, 450)
ONE_LINER_WORDS = (4, ONE_LINER_MAX_WORDS)
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D]")


class BioUnavailable(Exception):
    """No AI provider could write the bio."""


class BioMalformed(ValueError):
    """A provider answered, but not with the short and long bio in the asked format."""


@dataclass(frozen=True)
class BioOutcome:
    """What the artist is told after the bio: the message key in the catalogue's `bios`."""

    message: str  # written_ai, written_template or queued
    provider: str
    fallback_used: bool


# --- What a bio is written from ------------------------------------------------------------------
def bio_request(session: ChatSession) -> ReplyRequest:
    presskit = session.presskit
    return ReplyRequest(session_id=str(session.pk), language=session.language, kind=ReplyKind.BIO,
                        step=TOTAL_STEPS, next_step=None, artist_name=presskit.artist_name,
                        answers=answers_of(presskit))


def answers_fingerprint(request: ReplyRequest) -> str:
    facts = {"language": request.language, "answers": dict(request.answers)}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _one_liner_fits(text: str, artist_name: str) -> bool:
    """What the prompt asked of the model's one-liner, checked before anyone sees it."""
    return (ONE_LINER_WORDS[0] <= len(text.split()) <= ONE_LINER_WORDS[1] and "#" not in text
            and not _EMOJI.search(text) and artist_name.casefold() in text.casefold())


def parse_bios(text: str, request: ReplyRequest) -> tuple[str, str, str]:
    """The one-liner, short and long bio out of a provider's reply; BioMalformed if the short or
    the long one is missing or of the wrong length. A one-liner missing or not as asked is
    replaced by the template's: the short and long bio still stand."""
    labels = BIO_LABELS[catalogue_for(request.language).language]
    # [before, label, text, label, text, …]: each text up to the next label, in any order.
    parts = re.split(f"({'|'.join(map(re.escape, labels))})", text.replace("*", ""), flags=re.IGNORECASE)
    found: dict[str, str] = {}
    for label, body in zip(parts[1::2], parts[2::2]):
        found.setdefault(label.upper(), " ".join(body.split()).strip("# "))  # "#": markdown headings
    one_label, short_label, long_label = labels
    short, long = (" ".join(found.get(label, "").replace("#", "").split()) for label in (short_label, long_label))
    if not (short and long):
        raise BioMalformed("the reply has no short and long bio")
    if not (SHORT_WORDS[0] <= len(short.split()) <= SHORT_WORDS[1] and LONG_WORDS[0] <= len(long.split()) <= LONG_WORDS[1]):
        raise BioMalformed("a bio of the wrong length")
    one_liner = found.get(one_label, "")
    if not _one_liner_fits(one_liner, request.artist_name):
        logger.info("one-liner not as asked (session %s): the template's stands in", request.session_id)
        one_liner = template_one_liner(request)
    return one_liner, short, long


# --- Writing it with AI --------------------------------------------------------------------------
class _Silent:
    """A bio is shown whole when done, not streamed."""

    async def token(self, text: str) -> None:
        pass

    async def discard(self) -> None:
        pass


async def ai_bios_write(request: ReplyRequest) -> dict:
    """The bios from the first AI provider that writes them well: {"one_liner", "short", "long",
    "provider"}.
    Raises CircuitOpenError when every provider's breaker refused (nothing was tried: a queued
    job keeps its attempt), BioUnavailable when they were tried and failed."""
    members = [member for member in chain_from_settings().members if isinstance(member, AIMember)]
    log = TurnLog(request.session_id, None)
    token = current_turn_log.set(log)
    refused = 0
    try:
        for member in members:
            try:
                text = await member.write(request, _Silent())
                one_liner, short, long = parse_bios(text, request)
            except ProviderFailed as failed:
                refused += failed.code == "refused"
                continue
            except BioMalformed:
                logger.warning("bio from %s not in the asked format (session %s)", member.name, request.session_id)
                continue
            return {"one_liner": one_liner, "short": short, "long": long, "provider": member.name}
    finally:
        current_turn_log.reset(token)
        await sync_to_async(turn_log_write, thread_sensitive=False)(log, fallback_used=False)
    if members and refused == len(members):
        raise CircuitOpenError(GATE, State.OPEN)
    raise BioUnavailable()


def ai_gate() -> Gate:
    """May queued AI work be handed out? Not while staff keep AI aside (a forced level of LIMITED
    or worse); else as the most open of the configured providers' breakers."""
    state = degradation_current()
    if state.forced and state.level >= Level.LIMITED:
        return Gate.SHUT
    gates = {breaker_gate(name) for name in configured_ai_providers()}
    for gate in (Gate.OPEN, Gate.PROBE):
        if gate in gates:
            return gate
    return Gate.SHUT


# --- Recording it --------------------------------------------------------------------------------
def _save(session: ChatSession, fingerprint: str, one_liner: str, short: str, long: str, source: str) -> None:
    presskit = session.presskit
    presskit.one_liner, presskit.short_bio, presskit.long_bio = one_liner, short, long
    presskit.bio_source, presskit.bio_answers_hash = source, fingerprint
    written_from = bios_hash(presskit)
    presskit.bio_translations = {language: translation for language, translation in presskit.bio_translations.items()
                                 if translation["source_hash"] == written_from}
    presskit.save(update_fields=[*BIO_FIELDS, "updated_at"])
    translations_enqueue(session)


def template_bios_save(*, session_id: str, fingerprint: str) -> None:
    """The template bio for these answers, unless they changed meanwhile."""
    with transaction.atomic():
        session = chat_session_stored(session_id, lock=True)
        request = bio_request(session)
        presskit = session.presskit
        if presskit.bio_source == BioSource.AI and presskit.bio_answers_hash == fingerprint:
            return  # a worker wrote the AI bio for these answers meanwhile: it stays
        if answers_fingerprint(request) == fingerprint:
            _save(session, fingerprint, template_one_liner(request), *template_bios(request), BioSource.TEMPLATE)


def _push_arrived(session_id: str, message_id: int) -> None:
    """Show the AI bio on the artist's open page (every tab of the chat), with its message."""
    from chat.rendering import render_turn_done  # rendering imports the page's whole context

    message = ChatMessage.objects.get(pk=message_id)
    group_publish_now(session_id, render_turn_done(session_id, message, degradation_current().level))


def ai_bios_apply(payload: dict, value: dict | None) -> dict:
    """The job's effect, once, in the transaction that marks it done: save the AI bio if the
    answers are still the ones it was written from. Written by a worker (not shown by the turn):
    tell the artist, push it to the open page, and send it to the integrations."""
    session = chat_session_of(payload["session"], lock=True)
    if value is None or session is None:
        return {"superseded": True}
    fingerprint = payload["fingerprint"]
    request = bio_request(session)
    if answers_fingerprint(request) != fingerprint:
        return {"superseded": True}
    presskit = session.presskit
    later = not value.get("shown")
    # A bio cached before the one-liner existed has none: the template's stands in.
    one_liner = value.get("one_liner") or template_one_liner(request)
    _save(session, fingerprint, one_liner, value["short"], value["long"], BioSource.AI)
    if later:
        message = ChatMessage.objects.create(
            session=session, role=ChatMessage.Role.ASSISTANT, step=None, provider=value["provider"],
            text=catalogue_for(session.language).bios["arrived"])
        transaction.on_commit(lambda: _push_arrived(str(session.pk), message.pk))
        # The integrations may have had the template bio: they get the AI one too.
        integrations_enqueue(presskit_id=str(presskit.pk), version=f"ai-bio:{fingerprint[:16]}")
    return {"provider": value["provider"], "written_later": later}


def ai_bios_run(payload: dict) -> dict | None:
    """The queued job's work, in a worker: None (nothing to write) if the answers changed since."""
    session = chat_session_of(payload["session"])
    if session is None:  # the chat was deleted: nobody needs this bio
        return None
    request = bio_request(session)
    if answers_fingerprint(request) != payload["fingerprint"]:
        return None
    return async_to_sync(ai_bios_write)(request)


BIO_JOB = JobType(name=JOB_TYPE, run=ai_bios_run, apply=ai_bios_apply, dependency=GATE, priority=Priority.MEDIUM)


# --- In the page's other languages ---------------------------------------------------------------
def bios_hash(presskit) -> str:
    """What a translation is made from: the three bios as they are."""
    bios = [presskit.one_liner, presskit.short_bio, presskit.long_bio]
    return hashlib.sha256(json.dumps(bios).encode()).hexdigest()


def translation_request(session: ChatSession, language: str) -> BioTranslationRequest:
    presskit = session.presskit
    # The answers too: a translated one-liner not as asked gives way to the template's (parse_bios).
    return BioTranslationRequest(
        session_id=str(session.pk), language=language, kind=ReplyKind.BIO, step=TOTAL_STEPS, next_step=None,
        artist_name=presskit.artist_name, answers=answers_of(presskit), source_language=session.language,
        source=(presskit.one_liner, presskit.short_bio, presskit.long_bio))


def translations_enqueue(session: ChatSession) -> None:
    """Queue the bios' translation into each of the page's other languages, with AI configured
    (none is ever written without). The same bios are the same job."""
    if not configured_ai_providers():
        return
    presskit = session.presskit
    written_from = bios_hash(presskit)
    artist_language = catalogue_for(session.language).language
    for language in (code for code, _ in settings.LANGUAGES if code != artist_language):
        job_enqueue(JobRequest(
            TRANSLATION_JOB_TYPE, {"session": str(session.pk), "language": language, "source_hash": written_from},
            idempotency_key=f"bio-translate:{presskit.pk}:{language}:{written_from}", owner=f"presskit:{presskit.pk}"))


def bio_translate_run(payload: dict) -> dict | None:
    """The queued job's work, in a worker: None (nothing to write) if the bios changed since."""
    session = chat_session_of(payload["session"])
    if session is None or bios_hash(session.presskit) != payload["source_hash"]:
        return None
    return async_to_sync(ai_bios_write)(translation_request(session, payload["language"]))


def bio_translate_apply(payload: dict, value: dict | None) -> dict:
    """Save the translation if the bios are still the ones it was made from, and show it on the
    artist's open page."""
    session = chat_session_of(payload["session"], lock=True)
    if value is None or session is None or bios_hash(session.presskit) != payload["source_hash"]:
        return {"superseded": True}
    presskit = session.presskit
    translation = {"one_liner": value["one_liner"], "short": value["short"], "long": value["long"],
                   "source_hash": payload["source_hash"]}
    presskit.bio_translations = {**presskit.bio_translations, payload["language"]: translation}
    presskit.save(update_fields=["bio_translations", "updated_at"])
    transaction.on_commit(lambda: presskit_changed_send(presskit_id=str(presskit.pk)))
    return {"provider": value["provider"], "language": payload["language"]}


TRANSLATION_JOB = JobType(name=TRANSLATION_JOB_TYPE, run=bio_translate_run, apply=bio_translate_apply, dependency=GATE,
                          priority=Priority.LOW)


# --- After the seventh answer (and after later edits) --------------------------------------------
def bio_job_request(session: ChatSession, version: str, *, delay: float = 0.0) -> JobRequest:
    """The AI bio's job for this version of the presskit (see services.finish_version)."""
    fingerprint = answers_fingerprint(bio_request(session))
    return JobRequest(JOB_TYPE, {"session": str(session.pk), "fingerprint": fingerprint},
                      idempotency_key=f"bio:{session.pk}:{version}", owner=f"presskit:{session.presskit_id}",
                      delay=delay)


def _prepare(session_id: str, version: str) -> tuple[ReplyRequest, JobRequest]:
    session = chat_session_stored(session_id)
    return bio_request(session), bio_job_request(session, version)


async def _ai_bios_shown(request: ReplyRequest) -> dict:
    """The bios written while the artist waits: the turn shows them (no push, no message)."""
    return {**await ai_bios_write(request), "shown": True}


async def bios_write(*, session_id: str, version: str, ai_allowed: bool) -> BioOutcome:
    """Give the artist a bio now: the AI's if a provider can write it, else the template's with
    the AI bio queued for later. The answers are saved already; nothing here can lose them."""
    request, job = await in_database_pool(_prepare)(session_id, version)
    fingerprint = job.payload["fingerprint"]
    if not configured_ai_providers():  # no AI at all: templates are the product
        await in_database_pool(template_bios_save)(session_id=session_id, fingerprint=fingerprint)
        return BioOutcome("written_template", "template", fallback_used=False)
    if ai_allowed:
        result = await aexecute_with_fallback(lambda: _ai_bios_shown(request), dependency=GATE,
                                              plan=FallbackPlan(cache_key=f"bio:{fingerprint}", queue=job))
        if result.served:
            provider = result.value["provider"] if isinstance(result.value, dict) else "cache"
            return BioOutcome("written_ai", provider, fallback_used=result.fallback is Fallback.CACHED)
        queued = result.fallback is Fallback.QUEUED
    else:  # staff keep AI aside: straight to the queue
        await in_database_pool(job_enqueue)(job)
        queued = True
    await in_database_pool(template_bios_save)(session_id=session_id, fingerprint=fingerprint)
    return BioOutcome("queued" if queued else "written_template", "template", fallback_used=True)


def bio_message_record(*, session_id: str, outcome: BioOutcome) -> ChatMessage:
    session = ChatSession.objects.get(pk=session_id)
    return ChatMessage.objects.create(
        session=session, role=ChatMessage.Role.ASSISTANT, step=None, provider=outcome.provider,
        fallback_used=outcome.fallback_used, text=catalogue_for(session.language).bios[outcome.message])



async def bio_after_answers(*, session_id: str, version: str, ai_allowed: bool) -> ChatMessage | None:
    """All seven answers are in (or one changed afterwards): write the bio and record the message
    that tells the artist about it. The answers are saved already: a failure here is logged and
    costs the artist only that message (None)."""
    try:
        # Shielded: a tab closed meanwhile (its consumer cancelled) must not leave the presskit
        # without a bio, or the job unsettled.
        outcome = await asyncio.shield(bios_write(session_id=session_id, version=version, ai_allowed=ai_allowed))
        return await in_database_pool(bio_message_record)(session_id=session_id, outcome=outcome)
    except Exception:
        logger.exception("bio not written (session %s)", session_id)
        return None


def finishes_presskit(request: ReplyRequest) -> bool:
    """Did this turn complete the presskit, or change it once complete?"""
    return request.kind is ReplyKind.COMPLETE or (request.kind is ReplyKind.EDIT_DONE and request.next_step is None)
