"""The seven validators, exercised through the public step table (`STEPS` / `step_by_number`)."""
from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.steps import STEPS, TOTAL_STEPS, InvalidAnswer, step_by_number

NEXT_YEAR = date.today().year + 1
# Hypothesis keeps no example database on disk, so the tests leave no files behind.
PROPERTY = hypothesis_settings(database=None, deadline=None, max_examples=200)


def validate(step: int, text: str):
    return step_by_number(step).validate(text)


def rejection(step: int, text: str) -> InvalidAnswer:
    with pytest.raises(InvalidAnswer) as caught:
        validate(step, text)
    return caught.value


# --- the step table -------------------------------------------------------------------------


def test_the_table_has_seven_numbered_steps_in_order():
    assert [step.number for step in STEPS] == list(range(1, TOTAL_STEPS + 1))
    assert [step.field for step in STEPS] == [
        "artist_name", "genres", "experience", "location", "story", "links", "booking_email",
    ]


@pytest.mark.parametrize("number", [0, -1, TOTAL_STEPS + 1])
def test_step_by_number_rejects_numbers_outside_the_table(number):
    with pytest.raises(KeyError):
        step_by_number(number)


# --- step 1: artist name --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Luna Roja", "Luna Roja"),
    ("  Luna    Roja \n", "Luna Roja"),
    ("DJ\tKoze", "DJ Koze"),
    ("Xy", "Xy"),
    ("a" * 50, "a" * 50),
])
def test_artist_name_accepts_and_collapses_whitespace(text, expected):
    assert validate(1, text) == expected


@pytest.mark.parametrize(("text", "length"), [("", 0), ("   ", 0), ("A", 1), (" A ", 1), ("a" * 51, 51)])
def test_artist_name_outside_2_to_50_chars_is_rejected_with_its_length(text, length):
    error = rejection(1, text)
    assert error.code == "name_length"
    assert error.params == {"length": length}


@PROPERTY
@given(st.text(max_size=80))
def test_artist_name_output_is_idempotent_and_2_to_50_chars(text):
    try:
        name = validate(1, text)
    except InvalidAnswer as error:
        assert error.code == "name_length"
        return
    assert 2 <= len(name) <= 50
    assert validate(1, name) == name


# --- step 2: genres -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("techno", ["techno"]),
    ("house, techno; disco / pop", ["house", "techno", "disco", "pop"]),
    ("rock y pop", ["rock", "pop"]),
    ("Rock and Roll", ["Rock & Roll"]),  # one genre, not two
    ("Techno and Drum and Bass", ["Techno", "Drum & Bass"]),
    ("drum n bass y jungle", ["Drum & Bass", "jungle"]),
    ("techno, drum&bass, rhythm and blues", ["techno", "Drum & Bass", "Rhythm & Blues"]),
    ("deep house y techno melódico", ["deep house", "techno melódico"]),
    ("salsa y bachata", ["salsa", "bachata"]),  # two genres: only known names are kept whole
    ("hip-hop e indie", ["hip-hop", "indie"]),
    ("house|techno\ndisco", ["house", "techno", "disco"]),
    ("House, house, HOUSE", ["House"]),
    ("  techno   melódico ,  disco.", ["techno melódico", "disco"]),
    ("Drum & Bass, R&B", ["Drum & Bass", "R&B"]),
    ("a, b, c, d, e", ["a", "b", "c", "d", "e"]),
    ("a, b, c, d, e, A, B", ["a", "b", "c", "d", "e"]),  # duplicates do not count towards the limit
    ("x" * 40, ["x" * 40]),
])
def test_genres_are_split_trimmed_and_deduplicated(text, expected):
    assert validate(2, text) == expected


@pytest.mark.parametrize(("text", "code", "params"), [
    ("", "genres_empty", {}),
    (" , ; / ", "genres_empty", {}),
    ("...", "genres_empty", {}),
    ("a, b, c, d, e, f", "genres_too_many", {"count": 6}),
    ("x" * 41, "genre_too_long", {"genre": "x" * 40 + "…"}),
    ("house, " + "y" * 60, "genre_too_long", {"genre": "y" * 40 + "…"}),
])
def test_genres_rejections_carry_code_and_params(text, code, params):
    error = rejection(2, text)
    assert (error.code, error.params) == (code, params)


@pytest.mark.parametrize(("text", "expected"), [("rock, . rock", ["rock"]), (". .", None)])
def test_genres_never_keep_surrounding_or_blank_whitespace(text, expected):
    if expected is None:
        assert rejection(2, text).code == "genres_empty"
    else:
        assert validate(2, text) == expected


_word = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_genre_lists = st.lists(_word, max_size=8).flatmap(
    lambda words: st.sampled_from([", ", ";", " / ", " y ", " and ", "|"]).map(lambda sep: sep.join(words))
)


@PROPERTY
@given(st.one_of(st.text(max_size=120), _genre_lists))
def test_genres_are_one_to_five_unique_non_empty_short_strings(text):
    try:
        genres = validate(2, text)
    except InvalidAnswer as error:
        assert error.code in {"genres_empty", "genres_too_many", "genre_too_long"}
        return
    assert 1 <= len(genres) <= 5
    assert all(isinstance(genre, str) and 0 < len(genre) <= 40 for genre in genres)
    assert len({genre.casefold() for genre in genres}) == len(genres)


# --- step 3: experience ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("10 años", "10 años"),
    ("desde 2015", "desde 2015"),
    ("5 years", "5 years"),
    ("tres años", "tres años"),
    ("2015", "2015"),
    ("medio año", "medio año"),
    ("6 meses", "6 meses"),
    ("  unos   8 años  ", "unos 8 años"),
    (f"desde {date.today().year}", f"desde {date.today().year}"),
])
def test_experience_accepts_durations_and_start_years(text, expected):
    assert validate(3, text) == expected


@pytest.mark.parametrize(("text", "code", "params"), [
    ("mucho", "experience_unclear", {}),
    ("", "experience_unclear", {}),
    ("desde 1939", "experience_unclear", {}),  # before the earliest plausible career year
    (f"desde {NEXT_YEAR}", "experience_future_year", {"year": NEXT_YEAR}),
    (f"de 2010 a {NEXT_YEAR + 5}", "experience_future_year", {"year": NEXT_YEAR + 5}),
    ("10 años " + "x" * 200, "experience_too_long", {}),
])
def test_experience_rejections_carry_code_and_params(text, code, params):
    error = rejection(3, text)
    assert (error.code, error.params) == (code, params)


# --- step 4: location -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Madrid", "Madrid"),
    ("  Madrid;\n toco en   salas  ", "Madrid; toco en salas"),
    ("m" * 200, "m" * 200),
])
def test_location_accepts_and_collapses_whitespace(text, expected):
    assert validate(4, text) == expected


@pytest.mark.parametrize(("text", "code"), [("", "location_empty"), (" \n\t ", "location_empty"),
                                            ("m" * 201, "location_too_long")])
def test_location_rejections(text, code):
    assert rejection(4, text).code == code


# --- step 5: story --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("s" * 20, "s" * 20),
    ("  Empecé pinchando vinilos de mi padre.\n\nHoy toco en festivales.  ",
     "Empecé pinchando vinilos de mi padre.\n\nHoy toco en festivales."),
    ("s" * 2000, "s" * 2000),
])
def test_story_accepts_20_to_2000_chars_keeping_inner_layout(text, expected):
    assert validate(5, text) == expected


@pytest.mark.parametrize(("text", "code", "length"), [
    ("s" * 19, "story_too_short", 19),
    ("   " + "s" * 19 + "   ", "story_too_short", 19),
    ("", "story_too_short", 0),
    ("s" * 2001, "story_too_long", 2001),
])
def test_story_rejections_report_the_length(text, code, length):
    error = rejection(5, text)
    assert (error.code, error.params) == (code, {"length": length})


# --- step 6: links --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("@luna_roja", ["@luna_roja"]),
    ("soundcloud.com/luna", ["https://soundcloud.com/luna"]),
    ("https://open.spotify.com/artist/x", ["https://open.spotify.com/artist/x"]),
    ("http://lunaroja.es", ["http://lunaroja.es"]),
    ("@luna_roja, soundcloud.com/luna;  www.lunaroja.es",
     ["@luna_roja", "https://soundcloud.com/luna", "https://www.lunaroja.es"]),
    ("soundcloud.com/luna https://soundcloud.com/luna @a @a", ["https://soundcloud.com/luna", "@a"]),
    (" ".join(f"@a{i}" for i in range(10)), [f"@a{i}" for i in range(10)]),
])
def test_links_accept_handles_and_urls(text, expected):
    assert validate(6, text) == expected


@pytest.mark.parametrize(("text", "code", "params"), [
    ("", "links_empty", {}),
    (" ,; ", "links_empty", {}),
    ("not a link!!", "link_invalid", {"link": "not"}),
    ("@luna_roja luna!!", "link_invalid", {"link": "luna!!"}),
    ("@luna-roja", "link_invalid", {"link": "@luna-roja"}),
    ("ftp://files.example.com", "link_invalid", {"link": "ftp://files.example.com"}),
    (" ".join(f"@a{i}" for i in range(11)), "links_too_many", {"count": 11}),
])
def test_links_rejections_carry_code_and_params(text, code, params):
    error = rejection(6, text)
    assert (error.code, error.params) == (code, params)


_HANDLE = re.compile(r"^@[A-Za-z0-9_.]{1,30}$")
_link_items = st.one_of(
    st.from_regex(_HANDLE, fullmatch=True),
    st.builds("{}{}.{}/{}".format, st.sampled_from(["", "http://", "https://", "www."]),
              st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), st.sampled_from(["com", "es", "fm"]),
              st.from_regex(r"[A-Za-z0-9_-]{0,10}", fullmatch=True)),
    st.text(min_size=1, max_size=20),
)


@PROPERTY
@given(st.one_of(st.text(max_size=80), st.lists(_link_items, max_size=12).map(" ".join)))
def test_links_output_items_are_handles_or_http_urls(text):
    try:
        links = validate(6, text)
    except InvalidAnswer as error:
        assert error.code in {"links_empty", "links_too_many", "link_invalid"}
        return
    assert 1 <= len(links) <= 10
    for link in links:
        # The scheme is kept as typed, so "HTTP://…" stays upper-case: compare case-insensitively.
        assert _HANDLE.match(link) or re.match(r"https?://\S+$", link, re.IGNORECASE), link


# --- step 7: booking email ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("booking@lunaroja.com", "booking@lunaroja.com"),
    ("  booking@lunaroja.com \n", "booking@lunaroja.com"),
    ("Booking.Luna@LunaRoja.COM", "Booking.Luna@lunaroja.com"),  # only the domain is lower-cased
    ("luna+gigs@mail.example.es", "luna+gigs@mail.example.es"),
])
def test_booking_email_accepts_and_lowercases_the_domain(text, expected):
    assert validate(7, text) == expected


@pytest.mark.parametrize("text", ["", "booking", "booking at lunaroja.com", "a@b", "@lunaroja.com",
                                  "booking@", "book ing@lunaroja.com", "booking@@lunaroja.com"])
def test_booking_email_rejects_invalid_addresses(text):
    error = rejection(7, text)
    assert (error.code, error.params) == ("email_invalid", {})
