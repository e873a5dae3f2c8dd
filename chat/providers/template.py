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
from chat.prompts import BIO_LABELS
from chat.providers.base import ReplyKind, ReplyRequest, ReplySink
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
            return catalogue.already_complete.format(name=name)
        case ReplyKind.RESTART:
            return catalogue.restart.format(question=next_question)
        case ReplyKind.BIO:  # in the format asked of the AI (chat.prompts.BIO_LABELS)
            short_label, long_label = BIO_LABELS[catalogue.language]
            short, long = template_bios(request)
            return f"{short_label} {short}\n{long_label} {long}"
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


def _first_sentence(text: str, max_words: int = 35) -> str:
    """The story's first sentence (at most `max_words` words), ending with its punctuation."""
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    words = sentence.split()
    if len(words) > max_words:
        sentence = " ".join(words[:max_words]) + "…"
    return sentence if sentence.endswith((".", "!", "?", "…")) else f"{sentence}."


def template_bios(request: ReplyRequest) -> tuple[str, str]:
    """The short and long bio from the answers alone: no AI, no invented facts."""
    catalogue = catalogue_for(request.language)
    answers = request.answers
    values = {field: answers.get(field, "") for field in
              ("genres", "location", "experience", "story", "links", "booking_email")}
    values.update(name=request.artist_name, story_start=_first_sentence(answers.get("story", "")))
    return catalogue.bios["short"].format(**values), catalogue.bios["long"].format(**values)
