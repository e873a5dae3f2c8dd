"""The template responder: the chain's last member, built in, in the artist's language.

It needs no network and always answers: it acknowledges the answer with a phrase fitted to it
(a per-step pattern when one matches, else a generic one), then asks the next question, so the
conversation always moves forward. Choices are deterministic per session and step, so a reply
never changes on a retry and never reads as a random non-sequitur.
"""
from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import Sequence

from chat.catalogue import Catalogue
from chat.prompts import BIO_LABELS, ONE_LINER_MAX_WORDS
from chat.providers.base import ReplyKind, ReplyRequest, ReplySink
from chat.sections import SECTIONS
from chat.steps import step_by_number
from chat.texts import catalogue_for, question

TOKEN = re.compile(r"\S+\s*")  # a word and the space after it: how replies are streamed


def _pick(options: Sequence[str], request: ReplyRequest) -> str:
    seed = zlib.crc32(f"{request.session_id}:{request.step}:{request.kind}".encode())
    return options[seed % len(options)]


def _acknowledgement(catalogue: Catalogue, request: ReplyRequest) -> str:
    texts = catalogue.steps[step_by_number(request.step).field]
    values = {"value": request.answer, "name": request.artist_name or request.answer}
    for pattern in texts.patterns:
        if pattern.regex.search(request.answer):
            return pattern.reply.format(**values)
    return _pick(texts.acknowledgements, request).format(**values)


def compose_reply(request: ReplyRequest) -> str:
    """The whole reply text for a request (plain text; escaped when rendered)."""
    catalogue = catalogue_for(request.language)
    next_question = question(catalogue.language, request.next_step)
    label = catalogue.steps[step_by_number(request.step).field].label
    name = request.artist_name
    match request.kind:
        case ReplyKind.ADVANCE:
            return f"{_acknowledgement(catalogue, request)} {next_question}"
        case ReplyKind.REASK:
            reason = catalogue.invalid[request.reason_code].format(**request.reason_params)
            return catalogue.reask.format(reason=reason, question=next_question)
        case ReplyKind.EDIT_ASK:
            return catalogue.edit_ask.format(label=label, value=request.answer, question=next_question)
        case ReplyKind.EDIT_DONE if request.next_step is None:
            return catalogue.edit_done_complete.format(label=label, value=request.answer)
        case ReplyKind.EDIT_DONE:
            return catalogue.edit_done.format(label=label, value=request.answer, question=next_question)
        case ReplyKind.RESUME:
            return catalogue.resume.format(question=next_question)
        case ReplyKind.COMPLETE:
            return f"{_acknowledgement(catalogue, request)} {catalogue.complete.format(name=name)}"
        case ReplyKind.ALREADY_COMPLETE:
            return f"{catalogue.already_complete.format(name=name)} {catalogue.sections_offer}"
        case ReplyKind.SECTION_ASK:
            return catalogue.sections[request.section].question
        case ReplyKind.SECTION_SAVED if SECTIONS[request.section].several:
            return catalogue.sections[request.section].saved.format(value=request.answer)
        case ReplyKind.SECTION_SAVED:
            return f"{catalogue.sections[request.section].saved.format(value=request.answer)} {catalogue.sections_offer}"
        case ReplyKind.SECTION_REASK:
            reason = catalogue.invalid[request.reason_code].format(**request.reason_params)
            return catalogue.reask.format(reason=reason, question=catalogue.sections[request.section].question)
        case ReplyKind.SECTION_DONE:
            return f"{catalogue.section_done} {catalogue.sections_offer}"
        case ReplyKind.RESTART:
            return catalogue.restart.format(question=next_question)
        case ReplyKind.BIO:  # in the format asked of the AI (chat.prompts.BIO_LABELS)
            texts = (template_one_liner(request), *template_bios(request))
            return "\n".join(f"{label} {text}" for label, text in zip(BIO_LABELS[catalogue.language], texts))
    raise ValueError(f"unknown reply kind {request.kind!r}")


def emergency_reply(request: ReplyRequest) -> str:
    """What the chain says when no responder could answer: short, and it still moves forward."""
    catalogue = catalogue_for(request.language)
    opener = _pick(catalogue.emergency, request)
    return f"{opener} {question(catalogue.language, request.next_step)}".strip()


class TemplateResponder:
    name = "template"
    cacheable = False

    def __init__(self, *, token_delay: float = 0.0) -> None:
        # A short pause between words, so template replies read as typed like the AI's.
        self.token_delay = token_delay

    async def write(self, request: ReplyRequest, sink: ReplySink) -> str:
        text = compose_reply(request)
        for token in TOKEN.findall(text):
            await sink.token(token)
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
        return text


# --- The template bio ------------------------------------------------------------------------------
# Written by a person, from the answers alone: the third person throughout, the artist's own story
# as their quoted words, no links in the prose, the grammar of a solo artist, a duo or a group.
_DUO_NAME = re.compile(r"^(d[úu]o|duo)\b|\s(&|\+|y|and|x)\s", re.IGNORECASE)
_GROUP_NAME = re.compile(r"^(tr[íi]o|cuarteto|quinteto|banda|orquesta|colectivo|coro|los|las|the|band|"
                         r"quartet|orchestra|collective|crew)\b", re.IGNORECASE)
_DUO_STORY = re.compile(r"\b(somos dos|los dos|las dos|ambos|ambas|we are two|both of us|the two of us)\b", re.IGNORECASE)
_PLURAL_STORY = re.compile(r"\b(somos|formamos|empezamos|tocamos|nuestr[oa]s?|nos conocimos|we|our|us)\b", re.IGNORECASE)
_LINKISH = re.compile(r"(https?://\S+|www\.\S+|@[A-Za-z0-9_.]+|\S+\.(?:com|es|net|org|io|fm)\S*)", re.IGNORECASE)
_YEAR_ONLY = re.compile(r"^(?:desde(?: el)?|since|from|en)?\s*(19\d{2}|20\d{2})\.?$", re.IGNORECASE)
_DURATION_ONLY = re.compile(r"^(?:llevo|llevamos|más de|mas de|over|for|around)?\s*(.+?\b(?:años?|anos|meses|years?|months?))"
                            r"(?:\s+(?:pinchando|tocando|en activo|de carrera|playing|djing))?\.?$", re.IGNORECASE)
# A first-person start of "where I play", dropped before it is said in the third person.
_FIRST_PERSON_PLAY = re.compile(r"^(?:y\s+)?(?:toco|tocamos|pincho|pinchamos|actúo|actuamos|i play|we play|playing)\s+",
                                re.IGNORECASE)
_PREPOSITION = re.compile(r"^(en|por|desde|in|at|across|around|throughout|all over)\b", re.IGNORECASE)
_QUOTE_WORDS = 28


def ensemble_of(name: str, story: str) -> str:
    """"solo", "duo" or "group", read from the name first, then from how the story speaks."""
    if _DUO_NAME.search(name) or _DUO_STORY.search(story):
        return "duo"
    if _GROUP_NAME.search(name) or _PLURAL_STORY.search(story):
        return "group"
    return "solo"


def joined(items: Sequence[str], conjunction: str) -> str:
    """"house, techno melódico y disco"."""
    items = [item for item in items if item]
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}" if len(items) > 1 else "".join(items)


def _without_links(text: str) -> str:
    """The story without its links: a sentence that points somewhere ("find me at …") goes whole."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    kept = [sentence for sentence in sentences if not _LINKISH.search(sentence)]
    return " ".join(kept) if kept else re.sub(r"\s{2,}", " ", _LINKISH.sub("", text)).strip(" ,;")


def _quoted(story: str, max_words: int | None) -> str:
    """The artist's words, links left out, cut at a sentence (or a word) when too long."""
    story = " ".join(_without_links(story).split())
    if max_words is None or len(story.split()) <= max_words:
        return story
    sentences = re.split(r"(?<=[.!?])\s", story)
    kept = ""
    for sentence in sentences:
        if len((kept + " " + sentence).split()) > max_words:
            break
        kept = f"{kept} {sentence}".strip()
    return kept or " ".join(story.split()[:max_words]) + "…"


def _career_span(experience: str) -> tuple[str, str] | None:
    """("since", "2014") or ("for", "10 años") when the experience is only a year or a span."""
    experience = experience.strip().rstrip(".")
    if match := _YEAR_ONLY.match(experience):
        return "since", match.group(1)
    if match := _DURATION_ONLY.match(experience):
        return "for", match.group(1)
    return None


def _career(experience: str, bios: dict, ensemble: str) -> str:
    if span := _career_span(experience):
        kind, value = span
        return bios[f"{kind}_{ensemble}"].format(year=value, duration=value)
    experience = experience.strip().rstrip(".")
    return bios["career"].format(experience=experience[:1].lower() + experience[1:])


def _base_and_where(location: str, preposition: str) -> tuple[str, str]:
    """"Madrid; salas y festivales de España" -> ("Madrid", "en salas y festivales de España")."""
    parts = re.split(r"\s*[;(]\s*", location.strip().rstrip(")."), maxsplit=1)
    base = parts[0].strip()
    where = _FIRST_PERSON_PLAY.sub("", parts[1].strip()) if len(parts) > 1 else ""
    if where and not _PREPOSITION.match(where):
        where = f"{preposition} {where}"
    return base, where


def template_bios(request: ReplyRequest) -> tuple[str, str]:
    """The short (~50 words) and long (~150–200 words) bio from the answers alone: no AI, no
    invented facts."""
    catalogue = catalogue_for(request.language)
    bios = dict(catalogue.bios)
    answers = request.answers
    name, story = request.artist_name, answers.get("story", "")
    ensemble = ensemble_of(name, story)
    genres = joined([genre.strip() for genre in answers.get("genres", "").split(",")], bios["and"])
    base, where = _base_and_where(answers.get("location", ""), bios["where_preposition"])
    intro = bios[f"intro_{ensemble}"].format(name=name, genres=genres, base=base)
    career = _career(answers.get("experience", ""), bios, ensemble) if answers.get("experience") else ""
    short = " ".join(part for part in (
        intro, career, bios[f"quote_{ensemble}"].format(quote=_quoted(story, _QUOTE_WORDS)) if story else "",
    ) if part)
    long = "\n\n".join(part for part in (
        " ".join(part for part in (intro, career, bios[f"where_{ensemble}"].format(where=where) if where else "") if part),
        bios[f"quote_{ensemble}"].format(quote=_quoted(story, None)) if story else "",
        bios[f"closing_{ensemble}"],
    ) if part)
    return short, long


def template_one_liner(request: ReplyRequest) -> str:
    """"Luna Roja: artista de house y techno melódico con base en Madrid, en activo desde 2014."
    At most ONE_LINER_MAX_WORDS: when it does not fit, the career is left out first, then what
    follows a comma in the base, then the genres from the last."""
    bios = catalogue_for(request.language).bios
    answers = request.answers
    name = request.artist_name
    line = bios[f"one_liner_{ensemble_of(name, answers.get('story', ''))}"]
    genres = [genre.strip() for genre in answers.get("genres", "").split(",")]
    base, _ = _base_and_where(answers.get("location", ""), bios["where_preposition"])
    span = _career_span(answers.get("experience", ""))
    career = bios[f"one_liner_{span[0]}"].format(year=span[1], duration=span[1]) if span else ""
    city = base.split(",")[0]
    candidates = [(genres, base, career), (genres, base, ""),
                  *((genres[:count], city, "") for count in range(len(genres), 0, -1))]
    for kept_genres, kept_base, kept_career in candidates:
        text = f"{line.format(name=name, genres=joined(kept_genres, bios['and']), base=kept_base)}{kept_career}."
        if len(text.split()) <= ONE_LINER_MAX_WORDS:
            return text
    return " ".join(text.split()[:ONE_LINER_MAX_WORDS]).rstrip(".,;:") + "…"
