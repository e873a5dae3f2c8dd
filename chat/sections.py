"""The optional sections the assistant offers once the seven steps are done: upcoming dates,
press quotes, who the artist sounds like, the tech rider. Each is a short flow validated like
the steps (the artist's answer is saved as a message first); none blocks publishing. Dates and
quotes take several answers, until the artist says they are done; the other two take one.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from chat.steps import InvalidAnswer
from presskit.clock import today
from presskit.models import Presskit, PressQuote, Show
from presskit.riders import rider_pdf_remove

SHOWS_MAX = 20
QUOTES_MAX = 10
RIDER_MAX = 2000  # one message's worth (CHAT_MESSAGE_MAX_CHARS)
_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})|(\d{4})-(\d{1,2})-(\d{1,2})")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_QUOTE_SOURCE = re.compile(r"\s+[—–-]\s+|\s*\|\s*")  # "text — source", "text - source", "text | source"
_QUOTE_MARKS = "«»\"“”'‘’ "


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _show_date(text: str) -> date:
    found = _DATE.fullmatch(text.strip())
    if not found:
        raise InvalidAnswer("show_date")
    day, month, year = (found.group(1), found.group(2), found.group(3)) if found.group(1) else (
        found.group(6), found.group(5), found.group(4))
    try:
        when = date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidAnswer("show_date") from None
    if when < today():
        raise InvalidAnswer("show_past")
    return when


def validate_show(text: str) -> dict:
    """"14/02/2027, Sala Apolo, Barcelona[, https://…]": the date, the venue, the city, a link."""
    url = ""
    if found := _URL.search(text):
        url, text = found.group(0).rstrip(".,;)"), (text[:found.start()] + text[found.end():])
    parts = [_one_line(part) for part in re.split(r"[,;·]", text) if part.strip()]
    if len(parts) < 3:
        raise InvalidAnswer("show_parts")
    when = _show_date(parts[0])
    venue, city = parts[1], ", ".join(parts[2:])
    for value, most in ((venue, 120), (city, 80), (url, 500)):
        if len(value) > most:
            raise InvalidAnswer("too_long", max=most)
    return {"date": when, "venue": venue, "city": city, "url": url}


def validate_quote(text: str) -> dict:
    """"«Una sesión hipnótica» — Mixmag": what the press wrote, and who."""
    pieces = _QUOTE_SOURCE.split(_one_line(text))
    if len(pieces) < 2:
        raise InvalidAnswer("quote_parts")
    quote, source = " - ".join(pieces[:-1]).strip(_QUOTE_MARKS), pieces[-1].strip(_QUOTE_MARKS)
    if not quote or not source:
        raise InvalidAnswer("quote_parts")
    if len(quote) > 400 or len(source) > 120:
        raise InvalidAnswer("too_long", max=400)
    return {"text": quote, "source": source}


def validate_sounds_like(text: str) -> str:
    value = _one_line(text).strip(". ")
    if len(value) > 200:
        raise InvalidAnswer("too_long", max=200)
    return value


def validate_rider(text: str) -> str:
    value = text.strip()
    if len(value) > RIDER_MAX:
        raise InvalidAnswer("too_long", max=RIDER_MAX)
    return value


@dataclass(frozen=True)
class Section:
    name: str
    validate: Callable[[str], object]
    save: Callable[[Presskit, object], str]  # stores a valid answer; returns it as shown back
    field: str = ""  # a section of one answer: the Presskit field that holds it ("": several answers)

    @property
    def several(self) -> bool:
        """Takes answers until the artist says they are done."""
        return not self.field

    def current(self, presskit: Presskit) -> str:
        """What a section of one answer holds now, to change rather than retype."""
        return getattr(presskit, self.field) if self.field else ""


def show_text(show: Show) -> str:
    """A date as the chat and the panel show it."""
    return f"{show.date:%d/%m/%Y} · {show.venue}, {show.city}"


def quote_text(quote: PressQuote) -> str:
    return f"«{quote.text}» — {quote.source}"


def _show_save(presskit: Presskit, value: dict) -> str:
    if presskit.shows.count() >= SHOWS_MAX:
        raise InvalidAnswer("section_full", max=SHOWS_MAX)
    return show_text(Show.objects.create(presskit=presskit, **value))


def _quote_save(presskit: Presskit, value: dict) -> str:
    if presskit.quotes.count() >= QUOTES_MAX:
        raise InvalidAnswer("section_full", max=QUOTES_MAX)
    return quote_text(PressQuote.objects.create(presskit=presskit, **value))


def _field_save(name: str) -> Callable[[Presskit, str], str]:
    def save(presskit: Presskit, value: str) -> str:
        setattr(presskit, name, value)
        presskit.save(update_fields=[name, "updated_at"])
        return value

    return save


SECTIONS: dict[str, Section] = {
    "dates": Section("dates", validate_show, _show_save),
    "quotes": Section("quotes", validate_quote, _quote_save),
    "sounds_like": Section("sounds_like", validate_sounds_like, _field_save("sounds_like"), field="sounds_like"),
    "rider": Section("rider", validate_rider, _field_save("rider_text"), field="rider_text"),
}
SECTION_FIELDS = tuple(section.field for section in SECTIONS.values() if section.field)
RIDER_PDF = "rider_pdf"  # the rider's uploaded PDF: taken out like a section, added by upload (chat.views)
REMOVABLE = (*SECTIONS, RIDER_PDF)


def section_item_remove(presskit: Presskit, name: str, item: int | None) -> bool:
    """Take one date or quote out, empty a section of one answer, or take the rider PDF out.
    False if nothing was there."""
    if name == RIDER_PDF:
        return rider_pdf_remove(presskit)
    if name == "dates":
        return Show.objects.filter(presskit=presskit, pk=item).delete()[0] > 0
    if name == "quotes":
        return PressQuote.objects.filter(presskit=presskit, pk=item).delete()[0] > 0
    field = SECTIONS[name].field
    if not getattr(presskit, field):
        return False
    setattr(presskit, field, "")
    presskit.save(update_fields=[field, "updated_at"])
    return True
