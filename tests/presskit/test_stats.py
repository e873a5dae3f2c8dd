"""Honest numbers: a page view, a play, a PDF or ZIP download and a link followed are each counted once,
per published version and day, in Redis; known bots and link previews are not; one visitor
counts once per event within the repeat window (a flood of beacons adds one); nothing about
the visitor is kept; beat's flush moves the counts to the database once, even when a flush dies
half-way; the artist reads the week in the review panel, staff in the admin."""
from __future__ import annotations

import re
import uuid
from datetime import date
from html import unescape
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django_redis import get_redis_connection

from chat.models import COMPLETE_STEP, ChatSession
from chat.selectors import CURRENT_SESSION_KEY, OWNED_SESSIONS_KEY
from presskit import stats
from presskit.models import CountsBatch, DailyCount
from presskit.tasks import stats_flush
from tests.presskit.test_public_snapshot import published

pytestmark = pytest.mark.django_db(transaction=True)

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Version/18.0 Mobile Safari/604.1"
BOTS = ["Googlebot/2.1 (+http://www.google.com/bot.html)", "facebookexternalhit/1.1", "WhatsApp/2.23.20.0",
        "curl/8.5.0", "python-httpx/0.27", "Mozilla/5.0 (compatible; bingbot/2.0)", "Slackbot-LinkExpanding 1.0", ""]


@pytest.fixture(autouse=True)
def own_counts(settings):
    settings.REDIS_KEY_PREFIX = f"test-stats-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def page():
    return published("Luna Roja", links=("@lunaroja", "https://youtu.be/dQw4w9WgXcQ"))


def visitor(user_agent: str = BROWSER, address: str = "203.0.113.10") -> Client:
    return Client(HTTP_HOST="localhost", HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)


def waiting() -> dict[str, int]:
    """What waits in Redis, every day together."""
    redis = get_redis_connection("default")
    counts: dict[str, int] = {}
    for key in redis.scan_iter(f"{django_settings.REDIS_KEY_PREFIX}:stats:*"):
        for field, value in redis.hgetall(key).items():
            counts[field.decode()] = counts.get(field.decode(), 0) + int(value)
    return counts


def stored() -> dict[str, int]:
    return {row.event: row.count for row in DailyCount.objects.all()}


def test_each_view_play_download_and_click_is_counted_once_and_bots_are_not(page):
    browser = visitor()
    assert browser.get(f"/p/{page.slug}/").status_code == 200
    assert browser.head(f"/p/{page.slug}/").status_code == 200  # a HEAD is not a visit
    assert browser.get(f"/p/{page.slug}.pdf").status_code == 200
    for event in ("play", "link"):
        assert browser.post(f"/p/{page.slug}/count", {"event": event, "version": "1"}).status_code == 204
    assert not browser.cookies  # nothing set on the visitor
    for bot in BOTS:
        crawler = visitor(bot)
        crawler.get(f"/p/{page.slug}/")
        crawler.get(f"/p/{page.slug}.pdf")
        crawler.post(f"/p/{page.slug}/count", {"event": "play", "version": "1"})
    assert waiting() == {f"{page.slug}:1:view": 1, f"{page.slug}:1:pdf": 1,
                         f"{page.slug}:1:play": 1, f"{page.slug}:1:link": 1}  # the slug and the version: nothing else


def test_a_beacon_counts_only_known_events_for_the_public_version(page):
    browser = visitor()
    assert browser.post(f"/p/{page.slug}/count", {"event": "view", "version": "1"}).status_code == 400
    assert browser.post(f"/p/{page.slug}/count", {"event": "play", "version": "x"}).status_code == 400
    assert browser.post(f"/p/{page.slug}/count", {"event": "play", "version": "²"}).status_code == 400
    assert browser.post(f"/p/{page.slug}/count", {"event": "play", "version": "7"}).status_code == 204
    assert browser.post("/p/nobody/count", {"event": "play", "version": "1"}).status_code == 404
    assert browser.get(f"/p/{page.slug}/count").status_code == 405
    assert waiting() == {}


def test_one_visitor_counts_once_per_event_within_the_window_and_their_address_is_not_kept(settings, page):
    browser, other = visitor(), visitor(address="2001:db8::1")
    for _ in range(5):
        browser.get(f"/p/{page.slug}/")  # reloads
        browser.post(f"/p/{page.slug}/count", {"event": "play", "version": "1"})  # or forged beacons
    other.get(f"/p/{page.slug}/")
    assert waiting() == {f"{page.slug}:1:view": 2, f"{page.slug}:1:play": 1}
    redis = get_redis_connection("default")
    kept = b" ".join(key + b" " + redis.get(key) for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}*")
                     if redis.type(key) == b"string")
    assert b"203.0.113" not in kept and b"2001:db8" not in kept
    assert 0 < redis.ttl(next(redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:stats-seen:*"))) <= 1800

    settings.STATS_REPEAT_WINDOW = 1  # once the window is over, the same visitor counts again
    for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:stats-seen:*"):
        redis.delete(key)
    browser.get(f"/p/{page.slug}/")
    assert waiting()[f"{page.slug}:1:view"] == 3


def test_beat_s_flush_moves_the_counts_once_even_after_a_flush_that_died(page):
    for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        visitor(address=address).get(f"/p/{page.slug}/")
    browser = visitor()
    browser.post(f"/p/{page.slug}/count", {"event": "play", "version": "1"})
    assert stats_flush.apply().get() == 4  # the beat task
    assert stored() == {"view": 3, "play": 1} and waiting() == {}
    assert stats_flush.apply().get() == 0

    # A flush that dies after its commit and before forgetting its batch: the next adds nothing twice.
    visitor(address="203.0.113.4").get(f"/p/{page.slug}/")
    redis = get_redis_connection("default")
    day_key = next(redis.scan_iter(f"{django_settings.REDIS_KEY_PREFIX}:stats:day:*")).decode()
    batch = uuid.uuid4().hex
    batch_key = day_key.replace(":day:", ":batch:") + f":{batch}"
    redis.rename(day_key, batch_key)
    stats._batch_write(batch, date.fromisoformat(day_key.rsplit(":", 1)[1]), redis.hgetall(batch_key))
    assert stored()["view"] == 4
    stats_flush.apply().get()
    assert stored()["view"] == 4 and CountsBatch.objects.filter(id=batch).exists() and waiting() == {}
    assert "stats-flush" in django_settings.CELERY_BEAT_SCHEDULE


def test_the_artist_reads_the_week_in_the_review_panel(page):
    chat = ChatSession.objects.get(presskit=page)
    ChatSession.objects.filter(pk=chat.pk).update(current_step=COMPLETE_STEP)
    browser = visitor()
    for address in ("203.0.113.1", "203.0.113.2"):
        visitor(address=address).get(f"/p/{page.slug}/")
    browser.get(f"/p/{page.slug}.pdf")
    browser.get(f"/p/{page.slug}.zip")
    stats_flush.apply().get()
    browser.post(f"/p/{page.slug}/count", {"event": "play", "version": "1"})  # still in Redis: counted too

    session = import_module(django_settings.SESSION_ENGINE).SessionStore()
    session[OWNED_SESSIONS_KEY], session[CURRENT_SESSION_KEY] = [str(chat.pk)], str(chat.pk)
    session.save()
    artist = Client(HTTP_HOST="localhost")
    artist.cookies[django_settings.SESSION_COOKIE_NAME] = session.session_key
    panel = re.search(r'<p id="week-counts"[^>]*>(.*?)<span', artist.get("/").content.decode(), re.DOTALL)
    assert unescape(panel.group(1)).strip() == (
        "Esta semana: 2 visitas, 1 escucha, 1 descarga del PDF, 1 descarga del ZIP y 0 clics en tus enlaces.")


def test_staff_see_the_counts_in_the_admin(page, admin_client):
    visitor().get(f"/p/{page.slug}/")
    stats_flush.apply().get()
    listing = admin_client.get("/admin/presskit/dailycount/").content.decode()
    assert "Luna Roja · v1" in listing and "visitas" in listing
    assert admin_client.get("/admin/presskit/dailycount/add/").status_code == 403


def test_without_redis_the_page_is_served_and_simply_not_counted(page, settings):
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"],
                                                       "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens
    browser = visitor()
    assert browser.get(f"/p/{page.slug}/").status_code == 200
    assert browser.post(f"/p/{page.slug}/count", {"event": "play", "version": "1"}).status_code == 204
