"""The template bio reads as written by a person (DESIGN.md, "The finished presskit"): the third
person throughout, the artist's own story as their quoted words, no links in the prose, the
grammar of a solo artist, a duo or a group, genres joined naturally. Spanish and English."""
from __future__ import annotations

import re

import pytest

from chat.providers.base import ReplyKind, ReplyRequest
from chat.prompts import ONE_LINER_MAX_WORDS
from chat.providers.template import ensemble_of, template_bios, template_one_liner

STORY_ES = "Empecé pinchando los vinilos de mi padre en Vallecas. Hoy toco en festivales de toda España."
LINKS = "@lunaroja, https://soundcloud.com/lunaroja"
FIRST_PERSON_ES = re.compile(r"\b(empecé|toco|pincho|soy|mi|mis|somos|tocamos|nuestro|nuestra)\b", re.IGNORECASE)
FIRST_PERSON_EN = re.compile(r"\b(I|my|me|we|our|us)\b")
LINK = re.compile(r"https?://|www\.|@\w|\.com\b")


def request_of(language: str, name: str, **answers: str) -> ReplyRequest:
    return ReplyRequest(session_id="bio-table", language=language, kind=ReplyKind.COMPLETE, step=7,
                        next_step=None, artist_name=name,
                        answers={"artist_name": name, "links": LINKS, "booking_email": "b@luna.es", **answers})


def bios(language: str, name: str, **answers: str) -> tuple[str, str]:
    return template_bios(request_of(language, name, **answers))


def outside_the_quote(text: str) -> str:
    return re.sub(r"«[^»]*»|“[^”]*”", "", text)


CASES = [
    # language, name, genres, experience, location, story, expected start, expected career, ensemble
    ("es", "Luna Roja", "house", "desde 2014", "Madrid", STORY_ES,
     "Luna Roja es artista de house con base en Madrid.", "En activo desde 2014.", "solo"),
    ("es", "Luna Roja", "house, techno melódico, disco, electro, ambient", "10 años", "Madrid; salas y festivales",
     STORY_ES, "Luna Roja es artista de house, techno melódico, disco, electro y ambient con base en Madrid.",
     "Lleva 10 años en activo.", "solo"),
    ("es", "Dúo Norte", "indie, pop", "2016", "Bilbao", "Somos dos hermanos que empezamos en el garaje de casa.",
     "Dúo Norte es un dúo de indie y pop con base en Bilbao.", "En activo desde 2016.", "duo"),
    ("es", "Trío Candela", "flamenco", "llevamos 12 años tocando", "Sevilla",
     "Nos conocimos en el conservatorio y desde entonces tocamos por toda Andalucía.",
     "Trío Candela es una formación de flamenco con base en Sevilla.", "Llevan 12 años en activo.", "group"),
    ("es", "Los Sonidos", "cumbia", "desde 2010 en la escena de Lima", "Lima",
     "Formamos la banda en 2010 y nuestra música viaja por América.",
     "Los Sonidos es una formación de cumbia con base en Lima.", "Trayectoria: desde 2010 en la escena de Lima.", "group"),
    ("en", "Night Shift", "drum and bass, jungle", "since 2019", "Bristol; clubs across the UK",
     "I started DJing at university parties. Now I play clubs all over the UK. Find me at https://sc.com/ns.",
     "Night Shift is a drum and bass and jungle artist based in Bristol.", "Active since 2019.", "solo"),
    ("en", "The Lanterns", "folk, rock, blues", "8 years", "Dublin", "We met at school and have played together since.",
     "The Lanterns is a folk, rock and blues band based in Dublin.", "Active for 8 years.", "group"),
    ("en", "Ana & Leo", "jazz", "2012", "Lisbon", "We are two friends who met at a jam session.",
     "Ana & Leo is a jazz duo based in Lisbon.", "Active since 2012.", "duo"),
]


@pytest.mark.parametrize("language,name,genres,experience,location,story,start,career,ensemble", CASES)
def test_the_template_bio_reads_as_written_by_a_person(language, name, genres, experience, location, story,
                                                       start, career, ensemble):
    short, long = bios(language, name, genres=genres, experience=experience, location=location, story=story)
    assert ensemble_of(name, story) == ensemble
    for bio in (short, long):
        assert bio.startswith(start)
        assert career in bio
        assert not LINK.search(bio), bio  # links are buttons on the page, never prose
        first_person = FIRST_PERSON_ES if language == "es" else FIRST_PERSON_EN
        assert not first_person.search(outside_the_quote(bio)), bio  # the third person, but in the quote
        assert "es artista" not in bio or ensemble == "solo"
    # The artist's own words, quoted (the sentence with a link left out).
    first_sentence = re.split(r"(?<=[.!?])\s", story)[0]
    assert (f"«{first_sentence}" if language == "es" else f"“{first_sentence}") in long
    assert len(short.split()) <= 80 and len(long.split()) >= len(short.split())


def test_where_the_artist_plays_is_said_in_the_third_person():
    _, long = bios("es", "Luna Roja", genres="house", experience="desde 2014",
                   location="Madrid; toco en salas y festivales de España", story=STORY_ES)
    assert "Actúa en salas y festivales de España." in long
    _, long = bios("es", "Trío Candela", genres="flamenco", experience="2010", location="Sevilla; por toda Andalucía",
                   story="Tocamos juntas desde el conservatorio.")
    assert "Actúan por toda Andalucía." in long


ONE_LINERS = [
    # language, name, genres, experience, location, story, the one-liner
    ("es", "Luna Roja", "house, techno melódico", "desde 2014", "Madrid; salas y festivales", STORY_ES,
     "Luna Roja: artista de house y techno melódico con base en Madrid, en activo desde 2014."),
    ("es", "Trío Candela", "flamenco", "llevamos 12 años tocando", "Sevilla", "Nos conocimos en el conservatorio.",
     "Trío Candela: formación de flamenco con base en Sevilla, 12 años en activo."),
    ("es", "Dúo Norte", "indie, pop", "desde 2010 en la escena de Bilbao", "Bilbao", "Somos dos hermanos.",
     "Dúo Norte: dúo de indie y pop con base en Bilbao."),  # a career in words is left to the bios
    ("en", "Night Shift", "drum and bass, jungle", "since 2019", "Bristol; clubs across the UK", "I started DJing.",
     "Night Shift: drum and bass and jungle artist based in Bristol, active since 2019."),
    ("en", "The Lanterns", "folk, rock", "8 years", "Dublin", "We met at school.",
     "The Lanterns: folk and rock band based in Dublin, active for 8 years."),
    # Too long for a programme: the career goes, then the base's detail, then genres from the last.
    ("es", "Luna Roja", "house, techno melódico, disco de los setenta, electro", "desde 2014",
     "Madrid, la capital, aunque vivo a caballo con Valencia", STORY_ES,
     "Luna Roja: artista de house, techno melódico, disco de los setenta y electro con base en Madrid."),
    ("es", "Luna Roja", "house, techno melódico, disco de los setenta, electro minimal, ambient experimental",
     "desde 2014", "Madrid", STORY_ES,
     "Luna Roja: artista de house, techno melódico, disco de los setenta, electro minimal y ambient experimental "
     "con base en Madrid."),
]


@pytest.mark.parametrize("language,name,genres,experience,location,story,expected", ONE_LINERS)
def test_the_template_one_liner_says_who_what_and_where_in_a_line(language, name, genres, experience, location,
                                                                 story, expected):
    one_liner = template_one_liner(request_of(language, name, genres=genres, experience=experience,
                                              location=location, story=story))
    assert one_liner == expected
    assert len(one_liner.split()) <= ONE_LINER_MAX_WORDS and not LINK.search(one_liner)


def test_a_one_liner_that_cannot_fit_is_cut_at_the_limit():
    one_liner = template_one_liner(request_of("en", "Luna Roja", genres="house", experience="2014", story=STORY_ES,
                                              location="a very small village high in the mountains of the north "
                                                       "near the river and the old forest"))
    assert len(one_liner.split()) == ONE_LINER_MAX_WORDS and one_liner.endswith("…")
    assert one_liner.startswith("Luna Roja: house artist based in a very small village")
