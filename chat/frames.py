"""What the browser may send: a message, or an action. Anything else is a `FrameError`.

The htmx ws extension sends the form's values as a JSON object (plus a `HEADERS` object); the
same values arrive as POST data when the page works without JavaScript.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class CommandKind(StrEnum):
    MESSAGE = "message"
    EDIT = "edit"
    SET = "set"  # an answer changed in place, from the review: `step` and `message`
    RESUME = "resume"
    RESTART = "restart"
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    EDIT_LINK = "edit_link"  # a new private edit link (the older one stops working)


# Actions on the presskit itself rather than on an answer: no reply is asked of any provider.
PRESSKIT_ACTIONS = frozenset({CommandKind.PUBLISH, CommandKind.UNPUBLISH, CommandKind.EDIT_LINK})


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    text: str = ""
    step: int | None = None


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text: str) -> str:
    """Drop what no database or page should hold: control characters and lone surrogates."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL_CHARACTERS.sub("", text)


class FrameError(ValueError):
    """The frame cannot be understood; `code` names the error text shown to the artist."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


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
        if action in (CommandKind.RESUME, CommandKind.RESTART, *PRESSKIT_ACTIONS):
            return Command(CommandKind(action))
        raise FrameError("unknown_action")
    return Command(CommandKind.MESSAGE, text=_message_of(values))


def _message_of(values: Mapping[str, object]) -> str:
    message = values.get("message")
    if not isinstance(message, str):
        raise FrameError("no_message")
    message = _clean(message)
    if not message.strip():
        raise FrameError("empty_message")
    return message


def command_from_frame(text_data: str | None, bytes_data: bytes | None, *, max_bytes: int) -> Command:
    if text_data is None:
        raise FrameError("binary")
    if len(text_data) > max_bytes or len(text_data.encode("utf-8", "surrogatepass")) > max_bytes:
        raise FrameError("too_large")
    try:
        values = json.loads(text_data)
    except ValueError:
        raise FrameError("not_json") from None
    if not isinstance(values, dict):
        raise FrameError("not_json")
    return command_from_values(values)
