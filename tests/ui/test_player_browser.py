"""The public page's player in a real browser (Debian's Chromium), on a phone and a laptop: no
request reaches the music service until the booker taps play, then its player loads in the
page (YouTube from its no-cookie domain), titled with the artist's name as plain text; axe-core
finds nothing serious. Screenshots land in test-artifacts/."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.presskit.test_public_snapshot import published
from tests.ui.conftest import off_the_browser_thread
from tests.ui.test_chat_browser import shoot
from tests.ui.test_experience_browser import serious_violations

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

NAME = 'Luna "<b>Roja</b>'
SERVICE_HOSTS = ("www.youtube-nocookie.com", "www.youtube.com", "i.ytimg.com", "open.spotify.com",
                 "w.soundcloud.com", "soundcloud.com")


def test_the_music_loads_only_when_the_booker_taps_play(daphne, sized_page):
    page, viewport = sized_page
    presskit = off_the_browser_thread(published, name=NAME, links=("@lunaroja", "https://youtu.be/dQw4w9WgXcQ"))
    asked: list[str] = []
    page.on("request", lambda request: asked.append(urlsplit(request.url).hostname or ""))
    page.goto(f"{daphne}/p/{presskit.slug}/")
    play = page.locator(".player__play")
    expect(play).to_have_text("Reproducir en YouTube")
    page.wait_for_load_state("networkidle")
    assert not [host for host in asked if host in SERVICE_HOSTS]  # nothing yet: not a request, not a cookie
    assert serious_violations(page) == []
    shoot(page, f"player-{viewport}-before")

    with page.expect_request(lambda request: urlsplit(request.url).hostname == "www.youtube-nocookie.com"):
        play.click()  # (the frame's request fails here: no internet)
    frame = page.locator(".player iframe.player__frame")
    expect(frame).to_have_attribute("src", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?autoplay=1")
    expect(frame).to_have_attribute("title", f"Música de {NAME} en YouTube")
    assert "www.youtube.com" not in asked  # the cookie-setting domain is never asked
    shoot(page, f"player-{viewport}-after")


def test_an_english_reader_reads_the_page_in_english(daphne, sized_page):
    spanish, viewport = sized_page
    presskit = off_the_browser_thread(published, name="Luna Roja", links=("https://soundcloud.com/lunaroja",))
    english = spanish.context.browser.new_context(locale="en-GB", viewport=spanish.viewport_size)
    page = english.new_page()
    page.goto(f"{daphne}/p/{presskit.slug}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".player__play")).to_have_text("Play on SoundCloud")
    expect(page.locator("#listen-title")).to_have_text("The music")
    expect(page.locator("#bio-title")).to_have_text("Biography")
    assert serious_violations(page) == []
    shoot(page, f"public-{viewport}-english")
    page.locator(".epk__languages a").click()  # to the Spanish page, by its own address
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".player__play")).to_have_text("Reproducir en SoundCloud")
    english.close()
