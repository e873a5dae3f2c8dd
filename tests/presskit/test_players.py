"""The public page's player: its embed address is built from the artist's link (YouTube on its
no-cookie domain, Spotify, SoundCloud), never from their text; the page asks nothing of the
service until the booker taps play (no iframe in the page, the service allowed in frame-src
only when there is a player); the JSON carries it (schema 2)."""
from __future__ import annotations

import re
from html import unescape

import jsonschema
import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from presskit.documents import json_schema, link_of
from presskit.players import player_of
from tests.presskit.test_public_snapshot import published

NOCOOKIE = "https://www.youtube-nocookie.com/embed/"


@pytest.mark.parametrize(("url", "embed"), [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42", NOCOOKIE + "dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ?si=abc", NOCOOKIE + "dQw4w9WgXcQ"),
    ("https://m.youtube.com/shorts/dQw4w9WgXcQ", NOCOOKIE + "dQw4w9WgXcQ"),
    ("https://music.youtube.com/watch?v=dQw4w9WgXcQ", NOCOOKIE + "dQw4w9WgXcQ"),
    ("https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG",
     NOCOOKIE + "videoseries?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG"),
    ("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC", "https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC"),
    ("https://open.spotify.com/intl-es/artist/0OdUWJ0sBjDrqHygGUXeCF?si=x",
     "https://open.spotify.com/embed/artist/0OdUWJ0sBjDrqHygGUXeCF"),
    ("https://soundcloud.com/lunaroja", "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2Flunaroja&visual=true"),
    ("https://soundcloud.com/lunaroja/sets/verano-2026?utm=x",
     "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2Flunaroja%2Fsets%2Fverano-2026&visual=true"),
])
def test_the_embed_is_built_from_the_link(url, embed):
    assert player_of([link_of(url)]).embed_url == embed


@pytest.mark.parametrize("url", [
    "https://www.youtube.com/@lunaroja",  # a channel: nothing to embed from the link alone
    "https://www.youtube.com/watch?v=short",
    "https://open.spotify.com/track/not-an-id",
    "https://soundcloud.com/discover",
    "https://soundcloud.com/luna/roja/x/y",
    "https://lunaroja.bandcamp.com/album/verano",  # needs the album's number
    "https://www.instagram.com/lunaroja/",
    "https://example.com/watch?v=dQw4w9WgXcQ",
])
def test_links_that_cannot_be_embedded_make_no_player(url):
    assert player_of([link_of(url)]) is None


def test_the_first_link_that_can_be_embedded_is_the_player():
    links = [link_of(url) for url in ("@lunaroja", "https://www.youtube.com/@lunaroja",
                                      "https://soundcloud.com/lunaroja", "https://youtu.be/dQw4w9WgXcQ")]
    assert player_of(links).kind == "soundcloud"


@given(st.text(max_size=120))
def test_whatever_the_artist_types_the_embed_stays_on_its_service(text):
    for value in (f"https://www.youtube.com/watch?v={text}", f"https://youtu.be/{text}",
                  f"https://open.spotify.com/track/{text}", f"https://soundcloud.com/{text}"):
        link = link_of(value)
        player = player_of([link]) if link else None
        if player:
            assert player.origin in ("https://www.youtube-nocookie.com", "https://open.spotify.com",
                                     "https://w.soundcloud.com")
            assert re.fullmatch(r"[A-Za-z0-9:/?=&%._-]+", player.embed_url), player.embed_url


def test_the_page_loads_nothing_of_the_service_before_play_and_allows_only_it(transactional_db):
    presskit = published("Luna Roja", links=("@lunaroja", "https://youtu.be/dQw4w9WgXcQ"))
    response = Client(HTTP_HOST="localhost").get(f"/p/{presskit.slug}/")
    page = response.content.decode()
    assert "<iframe" not in page and "youtube-nocookie" not in re.sub(r'data-embed-url="[^"]*"', "", page)
    play = re.search(r'<a class="player__play" href="([^"]+)"[^>]*>([^<]+)</a>', page)
    assert play.groups() == ("https://youtu.be/dQw4w9WgXcQ", "Reproducir en YouTube")  # without script: the link
    assert unescape(re.search(r'data-embed-url="([^"]+)"', page).group(1)) == NOCOOKIE + "dQw4w9WgXcQ?autoplay=1"
    policy = response["Content-Security-Policy"]
    assert "frame-src https://www.youtube-nocookie.com" in policy and "script-src 'self'" in policy

    document = Client(HTTP_HOST="localhost").get(f"/p/{presskit.slug}.json").json()
    assert document["schema_version"] == 3
    assert document["player"] == {"kind": "youtube", "embed_url": NOCOOKIE + "dQw4w9WgXcQ",
                                  "url": "https://youtu.be/dQw4w9WgXcQ"}
    jsonschema.validate(document, json_schema(), format_checker=jsonschema.FormatChecker())


def test_without_a_player_the_page_frames_nothing(transactional_db):
    presskit = published("Luna Roja", links=("@lunaroja", "https://lunaroja.bandcamp.com/album/verano"))
    response = Client(HTTP_HOST="localhost").get(f"/p/{presskit.slug}/")
    assert 'class="player' not in response.content.decode()
    assert "frame-src" not in response["Content-Security-Policy"]
    assert Client(HTTP_HOST="localhost").get(f"/p/{presskit.slug}.json").json()["player"] is None
