"""The shape of a language's texts for the chat: questions, replies, reasons and UI strings.

Texts are data, declared once per language (`responder_es.py`, `responder_en.py`). Placeholders
use `str.format` names; values are plain text and are escaped when rendered.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pattern:
    """A reply that fits answers matching `regex` better than the generic acknowledgements."""

    regex: re.Pattern[str]
    reply: str


@dataclass(frozen=True)
class StepTexts:
    label: str  # short name of the field, for progress and review
    question: str
    hint: str  # example of a good answer, under the input
    acknowledgements: tuple[str, ...]  # generic, with {value} and {name}
    patterns: tuple[Pattern, ...] = ()
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SectionTexts:
    """An optional section (chat.sections), offered once the seven steps are done."""

    label: str  # its title in the review panel
    chip: str  # the button that starts it
    question: str
    hint: str  # example of a good answer, under the input
    saved: str  # {value}: after a valid answer (a section of several answers asks for another)
    keywords: tuple[str, ...]  # words of a message that start it


@dataclass(frozen=True)
class Catalogue:
    language: str
    steps: Mapping[str, StepTexts]
    greeting: str
    reask: str  # {reason} {question}
    edit_ask: str  # {label} {value} {question}
    edit_done: str  # {label} {value} {question}
    edit_done_complete: str  # {label} {value}
    resume: str  # {question}
    complete: str  # {name}
    already_complete: str  # {name}
    restart: str  # {question}
    emergency: tuple[str, ...]  # when no responder could answer; followed by the question
    invalid: Mapping[str, str]  # reason code -> sentence
    errors: Mapping[str, str]  # frame/action error code -> sentence
    ui: Mapping[str, str] = field(default_factory=dict)
    # The bios written after step 7: `short` and `long` are the template bios ({name} {genres}
    # {location} {experience} {story} {story_start} {links} {booking_email}); the rest are the
    # assistant's messages about them.
    bios: Mapping[str, str] = field(default_factory=dict)
    # The assistant's word after publish, unpublish and a new edit link ({url} {number}).
    publishing: Mapping[str, str] = field(default_factory=dict)
    # The optional sections: their texts, the offer of them, the word that ends one, and the
    # answers that mean "I'm done" (compared lower-cased, without the final full stop).
    sections: Mapping[str, SectionTexts] = field(default_factory=dict)
    sections_offer: str = ""
    section_done: str = ""
    done_words: frozenset[str] = frozenset()
