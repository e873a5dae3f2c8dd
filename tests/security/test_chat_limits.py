"""A script cannot flood the chat: a chat's turns have a burst then a pace ("más despacio", the
text given back, nothing stored), a client's new chats and open sockets are capped, and the
counts live in Redis, so every door (socket, form) and every process count together."""
from __future__ import annotations

import asyncio
import ipaddress
import re
import uuid
from html import unescape

import pytest
import yaml
from websockets.exceptions import ConnectionClosed
from asgiref.sync import sync_to_async
from django.test import Client

from chat.models import ChatMessage
from presskit.clients import client_of_scope
from tests.conftest import answer, error_text, make_artist
from tests.servers import REPO, BrowserLikeClient, database_url_of_test_db, server_environment, socket_answer, start_daphne

pytestmark = pytest.mark.django_db(transaction=True)

TOO_FAST = "Más despacio, por favor"


@pytest.fixture(autouse=True)
def own_counts(settings) -> None:
    settings.REDIS_KEY_PREFIX = f"test-limits-{uuid.uuid4().hex[:10]}"  # counts of this test only


async def user_messages(artist) -> int:
    return await ChatMessage.objects.filter(session_id=artist.chat_id, role="user").acount()


def restored_text(frame: str) -> str:
    match = re.search(r'data-composer-text="([^"]*)"', frame)
    return unescape(match.group(1)) if match else ""


@pytest.mark.asyncio
async def test_a_burst_then_mas_despacio_with_the_text_given_back(artist, open_chat, settings):
    settings.CHAT_TURN_LIMITS = "3/2seconds"
    communicator = await open_chat(artist)
    for text in ("Luna Roja", "techno", "desde 2015"):
        assert not error_text((await answer(communicator, text))[-1])
    [refused] = await answer(communicator, "Madrid")
    assert error_text(refused).startswith(TOO_FAST) and restored_text(refused) == "Madrid"
    assert await user_messages(artist) == 3  # nothing stored for the refused turn

    await asyncio.sleep(2.1)  # the window moves on: the same answer goes through
    frames = await answer(communicator, "Madrid")
    assert not error_text(frames[-1]) and "Paso 5 de 7" in frames[-1]


@pytest.mark.asyncio
async def test_the_socket_and_the_form_share_one_count(artist, open_chat, settings):
    settings.CHAT_TURN_LIMITS = "2/minute"
    communicator = await open_chat(artist)
    await answer(communicator, "Luna Roja")
    await answer(communicator, "techno")
    client = Client(HTTP_HOST="localhost")
    client.cookies[settings.SESSION_COOKIE_NAME] = artist.session_key
    page = await sync_to_async(client.post)("/", {"message": "desde 2015"})
    assert page.status_code == 429
    html = page.content.decode()
    assert TOO_FAST in unescape(html) and ">desde 2015</textarea>" in html  # back in the composer
    assert await user_messages(artist) == 2


@pytest.mark.asyncio
async def test_one_chat_over_its_pace_does_not_slow_another(artist, other_artist, open_chat, settings):
    settings.CHAT_TURN_LIMITS = "1/minute"
    first, second = await open_chat(artist), await open_chat(other_artist)
    await answer(first, "Luna Roja")
    assert error_text((await answer(first, "techno"))[-1]).startswith(TOO_FAST)
    assert not error_text((await answer(second, "Sol Azul"))[-1])


@pytest.mark.asyncio
async def test_a_turn_refused_by_one_window_is_counted_in_none(artist, open_chat, settings):
    """The burst refuses the third answer; had the minute counted it, the fourth, once the burst's
    window has passed, would be refused too."""
    settings.CHAT_TURN_LIMITS = "2/2seconds;3/minute"
    communicator = await open_chat(artist)
    last = [(await answer(communicator, text))[-1] for text in ("Luna Roja", "techno", "desde 2015")]
    assert [error_text(frame).startswith(TOO_FAST) for frame in last] == [False, False, True]
    await asyncio.sleep(2.1)
    last = [(await answer(communicator, text))[-1] for text in ("desde 2015", "Madrid")]
    assert [error_text(frame).startswith(TOO_FAST) for frame in last] == [False, True]  # the minute's third, then full
    assert await user_messages(artist) == 3


def test_a_client_that_starts_too_many_chats_is_told_to_wait(settings):
    settings.CLIENT_CHATS_LIMIT = "2/hour"
    browsers = [Client(HTTP_HOST="localhost", REMOTE_ADDR="203.0.113.7") for _ in range(3)]
    pages = [browser.get("/") for browser in browsers]
    assert [page.status_code for page in pages] == [200, 200, 429]
    assert "muchas conversaciones desde tu conexión" in pages[2].content.decode()
    assert "status.js" not in pages[2].content.decode()  # no reload loop: waiting is the answer
    assert not ChatMessage.objects.exists()  # each chat is stored on its first answer, if ever
    # A browser that has its chat already goes on; another client is not held up.
    assert browsers[0].get("/").status_code == 200
    assert Client(HTTP_HOST="localhost", REMOTE_ADDR="203.0.113.8").get("/").status_code == 200


def test_behind_the_proxy_the_client_is_the_address_it_saw(settings):
    settings.CLIENT_CHATS_LIMIT = "1/hour"
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    settings.CLIENT_IP_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    proxy = {"HTTP_HOST": "localhost", "REMOTE_ADDR": "10.0.0.2"}  # every request comes from the proxy
    assert Client(**proxy, HTTP_X_REAL_IP="198.51.100.1").get("/").status_code == 200
    assert Client(**proxy, HTTP_X_REAL_IP="198.51.100.2").get("/").status_code == 200
    assert Client(**proxy, HTTP_X_REAL_IP="198.51.100.1").get("/").status_code == 429
    # Straight to Daphne, the header is anyone's to write: it names no one.
    direct = {"HTTP_HOST": "localhost", "REMOTE_ADDR": "203.0.113.9"}
    assert Client(**direct, HTTP_X_REAL_IP="198.51.100.3").get("/").status_code == 200
    assert Client(**direct, HTTP_X_REAL_IP="198.51.100.4").get("/").status_code == 429  # the same client


def test_an_ipv6_client_is_its_slash_64(settings):
    settings.CLIENT_CHATS_LIMIT = "1/hour"
    assert Client(HTTP_HOST="localhost", REMOTE_ADDR="2001:db8:1:2::10").get("/").status_code == 200
    assert Client(HTTP_HOST="localhost", REMOTE_ADDR="2001:db8:1:2:ffff::1").get("/").status_code == 429
    assert Client(HTTP_HOST="localhost", REMOTE_ADDR="2001:db8:1:3::10").get("/").status_code == 200


@pytest.mark.asyncio
async def test_a_client_with_too_many_sockets_open_is_asked_to_close_one(settings, connect):
    settings.CLIENT_SOCKETS_MAX = 2
    artists = [await sync_to_async(make_artist)() for _ in range(3)]
    opened = []
    for artist in artists[:2]:
        communicator, connected, _ = await connect(artist)
        assert connected and 'id="progress"' in await communicator.receive_from(5)
        opened.append(communicator)
    third, connected, _ = await connect(artists[2])
    assert error_text(await third.receive_from(5)).startswith("Tienes demasiadas pestañas")
    assert (await third.receive_output(5)) == {"type": "websocket.close", "code": 4013, "reason": "too_many_sockets"}

    await opened[0].disconnect()  # a tab closed frees its place
    again, connected, _ = await connect(artists[2])
    assert 'id="progress"' in await again.receive_from(5)


@pytest.mark.asyncio
async def test_sockets_a_dead_process_left_counted_stop_counting(settings, connect, monkeypatch):
    """A process that died (or restarted for a deploy) never said its sockets closed: their
    entries expire unless renewed, and an open socket renews its own."""
    from chat import throttle

    settings.CLIENT_SOCKETS_MAX = 1
    # A TTL of seconds, not tenths: a loaded CI machine may take most of a second to connect.
    monkeypatch.setattr(throttle, "SOCKET_COUNT_REFRESH", 0.3)
    monkeypatch.setattr(throttle, "SOCKET_ENTRY_TTL", 2.0)
    artist, other_artist = await sync_to_async(lambda: (make_artist(), make_artist()))()
    test_client = client_of_scope({})  # the test communicator's scope names no client
    assert await throttle.socket_open(test_client, "socket-of-a-dead-process")
    refused, _, _ = await connect(artist)
    assert error_text(await refused.receive_from(5)).startswith("Tienes demasiadas pestañas")
    await asyncio.sleep(2.1)  # the dead process's entry expires
    alive, _, _ = await connect(artist)
    assert 'id="progress"' in await alive.receive_from(5)
    await asyncio.sleep(2.5)  # longer than the TTL: the open socket renewed its place
    other, _, _ = await connect(other_artist)
    assert error_text(await other.receive_from(5)).startswith("Tienes demasiadas pestañas")


@pytest.mark.subprocess
def test_two_daphne_processes_count_together(settings):
    """The count is in Redis: a second process does not give a chat a second burst."""
    env = server_environment(DATABASE_URL=database_url_of_test_db(), CHAT_TURN_LIMITS="2/minute",
                             REDIS_KEY_PREFIX=settings.REDIS_KEY_PREFIX)
    servers = [start_daphne(env) for _ in range(2)]
    try:
        browser = BrowserLikeClient(servers[0][1])
        _, chat_id = browser.open_page()
        replies = []
        for text, (_, base_url) in zip(("Luna Roja", "techno", "desde 2015"), [*servers, servers[0]], strict=True):
            browser.base_url = base_url
            with browser.open_socket(chat_id) as socket:
                socket.recv(timeout=10)
                replies.append(socket_answer(socket, text)[-1])
        assert [bool(error_text(reply)) for reply in replies] == [False, False, True]
        assert error_text(replies[2]).startswith(TOO_FAST)
    finally:
        for server, _ in servers:
            server.stop()


def test_the_compose_stack_counts_clients_by_the_address_nginx_saw():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert compose["services"]["web"]["environment"]["CLIENT_IP_HEADER"] == "X-Real-IP"
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    # Set in every location that reaches Daphne, from the connection (never the client's header).
    assert conf.count("proxy_set_header X-Real-IP $remote_addr;") == conf.count("proxy_pass ") == 2


@pytest.mark.subprocess
def test_through_daphne_a_tab_too_many_is_told_why_and_closed_to_try_again_later(settings):
    """The reason (in the chat) and the close code reach the browser through Daphne itself: its
    WebSocket library sends no 1013, and the refusal once died there as an error. (Daphne passes
    no close reason on: the fragment before the close says why.)"""
    env = server_environment(DATABASE_URL=database_url_of_test_db(), CLIENT_SOCKETS_MAX="1",
                             REDIS_KEY_PREFIX=settings.REDIS_KEY_PREFIX)
    server, base_url = start_daphne(env)
    try:
        browser = BrowserLikeClient(base_url)
        _, chat_id = browser.open_page()
        with browser.open_socket(chat_id) as first:
            assert 'id="progress"' in first.recv(timeout=10)
            with browser.open_socket(chat_id) as second:
                assert error_text(second.recv(timeout=10)).startswith("Tienes demasiadas pestañas")
                with pytest.raises(ConnectionClosed):
                    second.recv(timeout=10)
                assert second.close_code == 4013
        assert "Exception inside application" not in server.output
    finally:
        server.stop()
