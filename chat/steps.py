"""The seven steps of the conversation and how each answer is validated (DESIGN.md's table).

Validation and step advance are decided here, by our code, never by a model. A validator takes
the artist's raw text and returns the value to store, or raises `InvalidAnswer` with a reason
code that the responder turns into a short, friendly sentence.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

TOTAL_STEPS = 7
EARLIEST_CAREER_YEAR = 1940


class InvalidAnswer(ValueError):
    """The answer does not fit the step; `code` names the reason, `params` fill its text."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _one_line(text: str) -> str:
    return " ".join(text.split())


def validate_artist_name(text: str) -> str:
    name = _one_line(text)
    if not 2 <= len(name) <= 50:
        raise InvalidAnswer("name_length", length=len(name))
    return name


_GENRE_SEPARATORS = re.compile(r"\s*(?:[,;/|\n]|\s+y\s+|\s+and\s+|\s+e\s+)\s*", re.IGNORECASE)
# Genres whose name holds a word the separators split on ("drum and bass"): each is kept whole,
# under the chip's or the usual spelling, however it was written. (Names of several words with
# no "and" in them, "deep house", "techno melódico", are never split.)
_WHOLE_GENRES = tuple((re.compile(pattern, re.IGNORECASE), name) for pattern, name in (
    (r"\bdrum\s*(?:and|y|&|n|'n'|’n’|\+)\s*bass\b", "Drum & Bass"),
    (r"\brhythm\s*(?:and|y|&|'n'|’n’)\s*blues\b", "Rhythm & Blues"),
    (r"\brock\s*(?:and|y|&|n|'n'|’n’)\s*roll\b", "Rock & Roll"),
))


def _genres_whole(text: str) -> str:
    """Known genres of several words written as one name, with "&" (not a separator)."""
    for pattern, name in _WHOLE_GENRES:
        text = pattern.sub(name, text)
    return text


def validate_genres(text: str) -> list[str]:
    genres: list[str] = []
    for raw in _GENRE_SEPARATORS.split(_genres_whole(text.strip())):
        genre = _one_line(raw).strip(". ")
        if genre and genre.casefold() not in {known.casefold() for known in genres}:
            genres.append(genre)
    if not genres:
        raise InvalidAnswer("genres_empty")
    if len(genres) > 5:
        raise InvalidAnswer("genres_too_many", count=len(genres))
    if too_long := next((genre for genre in genres if len(genre) > 40), None):
        raise InvalidAnswer("genre_too_long", genre=too_long[:40] + "…")
    return genres


_NUMBER_WORDS = (
    "un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|quince|"
    "dieciséis|dieciseis|diecisiete|dieciocho|diecinueve|veinte|treinta|cuarenta|medio|media|"
    "a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    "unos|varios|muchos|several|many"
)
_DURATION = re.compile(
    rf"\b(?:\d{{1,2}}(?:[.,]\d)?|{_NUMBER_WORDS})\s*(?:\+\s*)?(?:años?|anos?|meses|mes|years?|yrs?|months?)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(19\d{2}|20\d{2})\b")


def validate_experience(text: str) -> str:
    answer = _one_line(text)
    if len(answer) > 200:
        raise InvalidAnswer("experience_too_long")
    years = [int(year) for year in _YEAR.findall(answer)]
    if any(year > date.today().year for year in years):
        raise InvalidAnswer("experience_future_year", year=max(years))
    if any(year >= EARLIEST_CAREER_YEAR for year in years) or _DURATION.search(answer):
        return answer
    raise InvalidAnswer("experience_unclear")


def validate_location(text: str) -> str:
    location = _one_line(text)
    if not location:
        raise InvalidAnswer("location_empty")
    if len(location) > 200:
        raise InvalidAnswer("location_too_long")
    return location


def validate_story(text: str) -> str:
    story = text.strip()
    if len(story) < 20:
        raise InvalidAnswer("story_too_short", length=len(story))
    if len(story) > 2000:
        raise InvalidAnswer("story_too_long", length=len(story))
    return story


_HANDLE = re.compile(r"^@[A-Za-z0-9_.]{1,30}$")
_LINK_SEPARATORS = re.compile(r"[\s,;]+")
_url_validator = URLValidator(schemes=["http", "https"])


def _link(item: str) -> str:
    if _HANDLE.match(item):
        return item
    url = item if re.match(r"^https?://", item, re.IGNORECASE) else f"https://{item}"
    try:
        _url_validator(url)
    except ValidationError:
        raise InvalidAnswer("link_invalid", link=item[:60]) from None
    return url


def validate_links(text: str) -> list[str]:
    items = [item for item in _LINK_SEPARATORS.split(text.strip()) if item]
    if not items:
        raise InvalidAnswer("links_empty")
    if len(items) > 10:
        raise InvalidAnswer("links_too_many", count=len(items))
    links: list[str] = []
    for item in items:
        link = _link(item)
        if link not in links:
            links.append(link)
    return links


_email_validator = EmailValidator()


BOOKING_EMAIL_MAX_LENGTH = 254  # presskit.models.Presskit.booking_email (EmailField's own)


def validate_booking_email(text: str) -> str:
    email = text.strip()
    try:
        _email_validator(email)
    except ValidationError:
        raise InvalidAnswer("email_invalid") from None
    if len(email) > BOOKING_EMAIL_MAX_LENGTH:  # Django's check allows 320; the column holds 254
        raise InvalidAnswer("email_too_long", max=BOOKING_EMAIL_MAX_LENGTH)
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def display_value(value: str | list[str]) -> str:
    """How a stored answer reads back to the artist."""
    return ", ".join(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class Step:
    number: int
    field: str
    validate: Callable[[str], str | list[str]] = field(repr=False)


STEPS: tuple[Step, ...] = (
    Step(1, "artist_name", validate_artist_name),
    Step(2, "genres", validate_genres),
    Step(3, "experience", validate_experience),
    Step(4, "location", validate_location),
    Step(5, "story", validate_story),
    Step(6, "links", validate_links),
    Step(7, "booking_email", validate_booking_email),
)
assert len(STEPS) == TOTAL_STEPS and [s.number for s in STEPS] == list(range(1, TOTAL_STEPS + 1))


def step_by_number(number: int) -> Step:
    if not 1 <= number <= TOTAL_STEPS:
        raise KeyError(number)
    return STEPS[number - 1]


def answers_of(presskit) -> dict[str, str]:
    """The presskit's answered steps, field -> display value, in step order."""
    return {step.field: display_value(value) for step in STEPS if (value := getattr(presskit, step.field))}
