"""What every member of the provider chain receives and must do."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class ReplyKind(StrEnum):
    ADVANCE = "advance"  # a valid answer: acknowledge it and ask the next question
    REASK = "reask"  # an invalid answer: say why in one sentence and ask again
    EDIT_ASK = "edit_ask"  # the artist wants to change an earlier answer
    EDIT_DONE = "edit_done"  # the earlier answer was changed: resume where we were
    RESUME = "resume"  # edit cancelled: ask the current question again
    COMPLETE = "complete"  # the last step was answered
    ALREADY_COMPLETE = "already_complete"  # a message after the presskit is complete
    RESTART = "restart"  # the artist started over
    BIO = "bio"  # not a turn: write the short and long bio from the seven answers (chat.bios)
    # The optional sections (chat.sections), led by our code: no provider is asked.
    SECTION_ASK = "section_ask"  # a section starts: its question
    SECTION_SAVED = "section_saved"  # a valid answer to it
    SECTION_REASK = "section_reask"  # an invalid one: why, and the question again
    SECTION_DONE = "section_done"  # the artist is done with it: the other sections on offer

    @property
    def ours(self) -> bool:
        """Replies our code writes from templates whatever the providers (not backup replies)."""
        return self in (ReplyKind.SECTION_ASK, ReplyKind.SECTION_SAVED, ReplyKind.SECTION_REASK,
                        ReplyKind.SECTION_DONE)


@dataclass(frozen=True)
class ReplyRequest:
    """Everything a responder may use to write one reply. Decisions are already taken."""

    session_id: str
    language: str
    kind: ReplyKind
    step: int  # the step the reply is about (answered, re-asked or being edited)
    next_step: int | None  # the step whose question the reply ends with, if any
    answer: str = ""  # the artist's answer as stored, in display form
    reason_code: str = ""  # why an answer was invalid (REASK)
    reason_params: Mapping[str, object] = field(default_factory=dict)
    artist_name: str = ""
    answers: Mapping[str, str] = field(default_factory=dict)  # field -> display value
    section: str = ""  # the optional section a SECTION_* reply is about


class ReplySink(Protocol):
    """Where a reply's tokens go while it is being written. It never raises: a tab that went
    away must not make a provider look broken (the reply is saved and shown on reconnect)."""

    async def token(self, text: str) -> None: ...

    async def discard(self) -> None: ...


class ChainMember(Protocol):
    """A member of the provider chain. `write` sends the reply to the sink token by token as
    it comes and returns its whole text; it raises (or returns "") when it cannot answer."""

    name: str
    cacheable: bool  # may its replies serve later turns from the reply cache?

    async def write(self, request: ReplyRequest, sink: ReplySink) -> str: ...
