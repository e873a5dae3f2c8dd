"""Listed or unlisted (issue 18): a page goes public unlisted, reachable by its link but marked
`noindex` and left out of sitemap.xml, until the artist lists it from the chat's publish panel
(WebSocket or the no-JavaScript form); robots.txt names the sitemap."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import unescape

import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.test import Client
from django.utils import timezone

from chat import services as chat_services
from presskit.models import Presskit, PresskitVersion
from presskit.services import (
    PublishRefused, presskit_listed_set, presskit_publish, presskit_take_down, presskit_unpublish,
)
from resilience.breakers import get_breaker
from resilience.machine import State
from tests.chat.test_consumer import SEVEN_ANSWERS
from tests.conftest import error_text, make_artist, message_texts, send_and_collect
from tests.presskit.test_public_snapshot import own_breakers, published  # noqa: F401 (a fixture)
from tests.presskit.test_publishing import HOST, PUBLIC_LINK, finished_chat, presskit_of, public_get, publish
from tests.presskit.test_publishing_admin import published_presskit

pytestmark = pytest.mark.django_db(transaction=True)

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NOINDEX_META = '<meta name="robots" content="noindex">'
ENGLISH_ANSWERS = ["Luna Roja", "house, melodic techno", "since 2014", "Madrid; clubs and festivals in Spain",
                   "I started playing my father's records in Vallecas and now I play festivals.",
                   "@lunaroja soundcloud.com/lunaroja", "booking@lunaroja.com"]


def action(name: str) -> dict:
    return {"action": name, "HEADERS": {"HX-Request": "true"}}


def toggle_offered(frame: str) -> str:
    """The listing action the panel offers ("list" or "unlist")."""
    offered = re.findall(r'name="action" value="(list|unlist)"', frame)
    assert len(offered) == 1, offered
    return offered[0]


def sitemap_urls(host: str = "localhost", secure: bool = False) -> dict[str, str]:
    response = Client(HTTP_HOST=host).get("/sitemap.xml", secure=secure)
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)  # well-formed XML, or this raises
    assert root.tag == f"{SITEMAP}urlset"
    return {url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod") for url in root}


def robots_of(response) -> tuple[str | None, str]:
    metas = re.findall(r'<meta name="robots"[^>]*>', response.content.decode())
    return response.headers.get("X-Robots-Tag"), "".join(metas)


@pytest.mark.asyncio
async def test_the_artist_lists_and_unlists_the_page_from_the_chat(artist, open_chat):
    communicator = await finished_chat(open_chat, artist)
    frames = await send_and_collect(communicator, action("list"))  # before publishing: it waits for the page
    assert "Tu página aparecerá en buscadores en cuanto la publiques." in message_texts(frames[-1])
    assert "Buscadores: sí." in unescape(frames[-1]) and toggle_offered(frames[-1]) == "unlist"
    assert (await presskit_of(artist.chat_id)).listed

    path, slug = PUBLIC_LINK.search("".join(await publish(communicator))).groups()
    await communicator.receive_from(5)  # the private link
    page = await sync_to_async(public_get)(path)
    assert page.status_code == 200 and robots_of(page) == (None, "")
    assert f"http://localhost{path}" in await sync_to_async(sitemap_urls)()

    frames = await send_and_collect(communicator, action("unlist"))
    assert message_texts(frames[-1])[-1] == (
        "Tu página ya no aparecerá en buscadores; quien tenga el enlace la sigue viendo.")
    assert "Buscadores: no." in unescape(frames[-1]) and toggle_offered(frames[-1]) == "list"
    page = await sync_to_async(public_get)(path)
    assert page.status_code == 200 and robots_of(page) == ("noindex", NOINDEX_META)  # still reachable
    assert await sync_to_async(sitemap_urls)() == {}

    frames = await send_and_collect(communicator, action("list"))
    assert message_texts(frames[-1])[-1] == "Tu página aparecerá en buscadores como Google; puede tardar unos días en salir."
    assert robots_of(await sync_to_async(public_get)(path)) == (None, "")
    assert (await PresskitVersion.objects.acount()) == 1  # listing publishes nothing new


@pytest.mark.asyncio
async def test_listing_before_the_seventh_answer_is_refused(artist, open_chat):
    communicator = await finished_chat(open_chat, artist, SEVEN_ANSWERS[:3])
    for name in ("list", "unlist"):
        frames = await send_and_collect(communicator, action(name))
        assert error_text(frames[-1]) == "Primero completa los siete pasos; después podrás publicar tu presskit."
    assert not (await presskit_of(artist.chat_id)).listed


@pytest.mark.asyncio
async def test_in_english_the_panel_and_the_assistant_say_it_too(open_chat):
    english = await sync_to_async(make_artist)("en")
    communicator = await finished_chat(open_chat, english, ENGLISH_ANSWERS)
    frames = await send_and_collect(communicator, action("unlist"))
    assert message_texts(frames[-1])[-1] == (
        "When you publish your page, it will not show up in search engines: only people with the link will see it.")
    assert "Search engines: no." in unescape(frames[-1]) and toggle_offered(frames[-1]) == "list"


@pytest.mark.asyncio
async def test_no_javascript_list_posts_the_same_action(artist, open_chat):
    await finished_chat(open_chat, artist)
    browser = Client(**HOST)
    browser.cookies[artist.cookie.split("=")[0]] = artist.cookie.split("=", 1)[1]
    page = (await sync_to_async(browser.get)("/")).content.decode()
    assert "Buscadores: no." in unescape(page) and toggle_offered(page) == "list"  # unlisted by default
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = await sync_to_async(browser.post)("/", {"action": "list", "csrfmiddlewaretoken": token}, follow=True)
    html = unescape(response.content.decode())
    assert response.redirect_chain == [("/#composer", 302)] and response.status_code == 200
    assert "Tu página aparecerá en buscadores en cuanto la publiques." in html
    assert "Buscadores: sí." in html and toggle_offered(html) == "unlist"
    assert (await presskit_of(artist.chat_id)).listed


def test_an_unlisted_page_says_noindex_and_a_listed_one_does_not():
    presskit = published_presskit()
    assert not presskit.listed  # a page goes public unlisted
    path = f"/p/{presskit.slug}/"
    assert robots_of(public_get(path)) == ("noindex", NOINDEX_META)
    presskit_listed_set(presskit_id=str(presskit.pk), listed=True)
    page = public_get(path)
    assert page.status_code == 200 and robots_of(page) == (None, "")
    assert "listed" not in public_get(f"/p/{presskit.slug}.json").json()  # the export is the version's only


def test_a_page_served_from_its_snapshot_says_noindex_even_when_listed(own_breakers):  # noqa: F811
    presskit = published("Luna Roja")
    presskit_listed_set(presskit_id=str(presskit.pk), listed=True)
    get_breaker("database").force_open("drill")  # on this test's own Redis prefix
    page = public_get(f"/p/{presskit.slug}/")
    assert page.status_code == 200 and "Luna Roja" in page.content.decode()
    assert robots_of(page) == ("noindex", NOINDEX_META)  # the snapshot cannot say it was listed


def test_with_the_database_away_the_sitemap_says_later_never_a_wrong_list(own_breakers):  # noqa: F811
    presskit = published("Luna Roja")
    presskit_listed_set(presskit_id=str(presskit.pk), listed=True)
    get_breaker("database").force_open("drill")  # on this test's own Redis prefix
    response = Client(HTTP_HOST="localhost").get("/sitemap.xml")
    assert response.status_code == 503 and response["Retry-After"] == "300"
    get_breaker("database").reset()
    assert list(sitemap_urls()) == [f"http://localhost/p/{presskit.slug}/"]  # back: the list again


def test_a_sitemap_page_that_does_not_exist_is_a_404_never_a_database_failure(own_breakers):  # noqa: F811
    for _ in range(6):
        assert Client(HTTP_HOST="localhost").get("/sitemap.xml?p=99").status_code == 404
    assert get_breaker("database").state is State.CLOSED


def test_the_sitemap_lists_listed_public_pages_with_their_version_date(settings):
    assert not apps.is_installed("django.contrib.sites")  # the host is the request's
    settings.ALLOWED_HOSTS = ["presskit.example.com"]
    hostile = published_presskit('Luna <b>"Roja"</b> & Co')
    republished = published_presskit("Sol Verde")
    PresskitVersion.objects.filter(presskit=republished).update(published_at=datetime(2025, 1, 2, 12, tzinfo=UTC))
    presskit_publish(presskit_id=str(republished.pk), language="es")  # version 2, today
    older = published_presskit("Río Azul")
    PresskitVersion.objects.filter(presskit=older).update(published_at=datetime(2025, 3, 4, 12, tzinfo=UTC))
    unlisted = published_presskit("Mar Gris")
    withdrawn = published_presskit("Nube Negra")
    down = published_presskit("Cielo Rojo")
    never = chat_services.chat_session_create(language="es").presskit  # finished, never published
    Presskit.objects.filter(pk=never.pk).update(artist_name="Alba", genres=["house"], booking_email="a@alba.es",
                                                short_bio="Alba es DJ.")
    for presskit in (hostile, republished, older, withdrawn, down, never):
        presskit_listed_set(presskit_id=str(presskit.pk), listed=True)
    presskit_unpublish(presskit_id=str(withdrawn.pk))
    presskit_take_down(presskit_id=str(down.pk), reason="Suplantación")
    with pytest.raises(PublishRefused):  # a taken-down page's choice waits for staff too
        presskit_listed_set(presskit_id=str(down.pk), listed=False)

    today = timezone.localdate().isoformat()
    assert sitemap_urls("presskit.example.com", secure=True) == {
        f"https://presskit.example.com/p/{hostile.slug}/": today,
        f"https://presskit.example.com/p/{republished.slug}/": today,  # the public version's date
        f"https://presskit.example.com/p/{older.slug}/": "2025-03-04",
    }
    assert unlisted.slug and not Presskit.objects.get(pk=never.pk).slug
    content = Client(HTTP_HOST="presskit.example.com").get("/sitemap.xml").content.decode()
    assert re.fullmatch(r"[a-z0-9-]+", hostile.slug)  # the name reaches it as a slug only
    assert "Luna" not in content and "<b>" not in content and "&" not in content


def test_robots_txt_names_the_sitemap_and_keeps_crawlers_out_of_private_doors(settings):
    settings.ALLOWED_HOSTS = ["presskit.example.com"]
    response = Client(HTTP_HOST="presskit.example.com").get("/robots.txt", secure=True)
    assert response.status_code == 200 and response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "User-agent: *\nAllow: /\nDisallow: /admin/\nDisallow: /e/\nDisallow: /ws/\n"
        "Sitemap: https://presskit.example.com/sitemap.xml\n")
