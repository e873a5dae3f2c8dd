"""What the browser may send: a message, or an action. Anything else is a `FrameError`.

The htmx ws extension sends the form's values as a JSON object (plus a `HEADERS` object); the
same values arrive as POST data when the page works without JavaScript.
"""
from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from presskit.models import PHOTO_CREDIT_MAX_CHARS


class CommandKind(StrEnum):
    MESSAGE = "message"
    EDIT = "edit"
    SET = "set"  # an answer changed in place, from the review: `step` and `message`
    RESUME = "resume"
    RESTART = "restart"
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    EDIT_LINK = "edit_link"  # a new private edit link (the older one stops working)
    LIST = "list"  # invite search engines to the public page
    UNLIST = "unlist"  # reachable by its link only
    SECTION = "section"  # start adding an optional section: `section`
    REMOVE = "remove"  # take a date or a quote out (`section`, `item`), or empty a section of one answer
    PLAYER = "player"  # the link whose player the public page shows: `item`, its place among the links
    PHOTO = "photo"  # a press photo (`photo`, its id) changed: `operation`, and a credit in `message`


# Actions on the presskit itself rather than on an answer: no reply is asked of any provider.
PRESSKIT_ACTIONS = frozenset({CommandKind.PUBLISH, CommandKind.UNPUBLISH, CommandKind.EDIT_LINK,
                              CommandKind.LIST, CommandKind.UNLIST, CommandKind.REMOVE, CommandKind.PLAYER,
                              CommandKind.PHOTO})
SECTION_NAMES = frozenset({"dates", "quotes", "sounds_like", "rider", "rider_pdf"})  # chat.sections.REMOVABLE
PHOTO_OPERATIONS = frozenset({"credit", "earlier", "later", "remove"})


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    text: str = ""
    step: int | None = None
    section: str = ""
    item: int | None = None
    operation: str = ""  # what a PHOTO command does (PHOTO_OPERATIONS)
    photo_id: str = ""  # the press photo it changes (its id, not its place: another tab may reorder)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Invisible characters that change how text reads or hide in it: bidi embeddings, overrides and
# isolates (a name shown reversed), the Arabic letter mark, zero-width spaces and word joiners,
# the byte order mark. Other format characters stay: the joiners of emoji sequences (👩‍🎤) and of
# scripts such as Persian, the tags of subdivision flags, the marks LRM and RLM.
_HIDDEN_CHARACTERS = re.compile("[\u061c\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_INVISIBLE = frozenset("\u200c\u200d\u200e\u200f")  # what may stay but is not, alone, an answer


def text_clean(text: str) -> str:
    """What no database or page should hold, dropped: control characters, lone surrogates and
    hidden characters; then NFC, so "é" typed two ways is one name."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _HIDDEN_CHARACTERS.sub("", _CONTROL_CHARACTERS.sub("", text))
    return unicodedata.normalize("NFC", text)


def text_visible(text: str) -> bool:
    """Something a reader can see: not only spaces, joiners and marks."""
    return any(not c.isspace() and c not in _INVISIBLE for c in text)


class FrameError(ValueError):
    """The frame cannot be understood; `code` names the error text shown to the artist."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def credit_clean(text: str) -> str:
    """A photo credit as kept: cleaned, on one line (FrameError "credit_too_long" past
    PHOTO_CREDIT_MAX_CHARS); may be empty (no credit)."""
    credit = " ".join(text_clean(text).split())
    if len(credit) > PHOTO_CREDIT_MAX_CHARS:
        raise FrameError("credit_too_long")
    return credit


def command_from_values(values: Mapping[str, object]) -> Command:
    action = values.get("action")
    if action:
        if action in (CommandKind.EDIT, CommandKind.SET):
            try:
                step = int(str(values.get("step")))
            except ValueError:
                raise FrameError("bad_step") from None
            if action == CommandKind.EDIT:
                return Command(CommandKind.EDIT, step=step)
            return Command(CommandKind.SET, text=_message_of(values), step=step)
        if action in (CommandKind.SECTION, CommandKind.REMOVE):
            return _section_command(CommandKind(action), values)
        if action == CommandKind.PLAYER:
            try:
                return Command(CommandKind.PLAYER, item=int(str(values.get("item"))))
            except ValueError:
                raise FrameError("unknown_action") from None
        if action == CommandKind.PHOTO:
            return _photo_command(values)
        if action in (CommandKind.RESUME, CommandKind.RESTART, *PRESSKIT_ACTIONS):
            return Command(CommandKind(action))
        raise FrameError("unknown_action")
    return Command(CommandKind.MESSAGE, text=_message_of(values))


def _section_command(kind: CommandKind, values: Mapping[str, object]) -> Command:
    section = values.get("section")
    if section not in SECTION_NAMES:
        raise FrameError("unknown_action")
    item = values.get("item")
    if kind is CommandKind.REMOVE and item not in (None, ""):
        try:
            item = int(str(item))
        except ValueError:
            raise FrameError("unknown_action") from None
    return Command(kind, section=str(section), item=item if isinstance(item, int) else None)


def _photo_command(values: Mapping[str, object]) -> Command:
    operation = values.get("operation")
    if operation not in PHOTO_OPERATIONS:
        raise FrameError("unknown_action")
    try:
        photo_id = str(uuid.UUID(str(values.get("photo"))))
    except ValueError:
        raise FrameError("unknown_action") from None
    credit = values.get("message", "") if operation == "credit" else ""
    if not isinstance(credit, str):
        raise FrameError("no_message")
    return Command(CommandKind.PHOTO, photo_id=photo_id, operation=str(operation), text=credit_clean(credit))


def _message_of(values: Mapping[str, object]) -> str:
    message = values.get("message")
    if not isinstance(message, str):
        raise FrameError("no_message")
    # Measured as the page's maxlength counts: a line break is one character (a form posts CRLF).
    if len(message.replace("\r\n", "\n")) > settings.CHAT_MESSAGE_MAX_CHARS:
        raise FrameError("too_large")
    message = text_clean(message)
    if not text_visible(message):
        raise FrameError("empty_message")
    return message


def command_from_frame(text_data: str | None, bytes_data: bytes | None, *, max_bytes: int) -> Command:
    if text_data is None:
        raise FrameError("binary")
    if len(text_data) > max_bytes or len(text_data.encode("utf-8", "surrogatepass")) > max_bytes:
        raise FrameError("too_large")
    try:
        values = json.loads(text_data)
    except (ValueError, RecursionError):  # RecursionError: "[" nested thousands deep
        raise FrameError("not_json") from None
    if not isinstance(values, dict):
        raise FrameError("not_json")
    return command_from_values(values)
