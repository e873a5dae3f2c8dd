"""A chat's fragments go to its other open tabs only when it has some: each chat's open tabs are
listed in Redis (renewed while open, expiring when a process dies without saying so), and a chat
open in one tab sends nothing to its group. Unreadable list: sent anyway. Group entries expire
unless renewed, and open sockets renew theirs."""
import asyncio

import pytest
import redis.asyncio
from channels.layers import get_channel_layer
from django.conf import settings

from chat import groups, throttle
from resilience.degradation import BROADCAST_EVENT, BROADCAST_GROUP, Level
from tests.conftest import answer

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def group_sends(monkeypatch) -> list[str]:
    """The fragments actually sent to a chat's group (the real send still happens)."""
    sent, send = [], groups._group_send

    async def recorded(session_id, html, origin):
        sent.append(html)
        await send(session_id, html, origin)

    monkeypatch.setattr(groups, "_group_send", recorded)
    return sent


async def sent(group_sends: list[str], count: int) -> None:
    """The turn's last fragment goes to the group just after the asking tab has it."""
    async with asyncio.timeout(5):
        while len(group_sends) < count:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert len(group_sends) == count


async def test_a_chat_open_in_one_tab_sends_nothing_to_its_group(artist, open_chat, group_sends):
    tab = await open_chat(artist)
    frames = await answer(tab, "Luna Roja")
    assert "Paso 2 de 7" in frames[-1]
    await asyncio.sleep(0.3)  # after the asking tab's last fragment, the group's would come
    assert group_sends == []


async def test_a_second_tab_gets_the_turn(artist, open_chat, group_sends):
    first, second = await open_chat(artist), await open_chat(artist)
    await answer(first, "Luna Roja")
    assert "Luna Roja" in await second.receive_from(5)
    assert "Paso 2 de 7" in await second.receive_from(5)
    await sent(group_sends, 2)


async def test_a_dead_processs_tab_stops_counting_and_an_open_tab_renews_its_own(artist, open_chat, group_sends,
                                                                                  monkeypatch):
    monkeypatch.setattr(throttle, "SOCKET_COUNT_REFRESH", 0.3)
    monkeypatch.setattr(throttle, "SOCKET_ENTRY_TTL", 2.0)
    await groups.tab_open(artist.chat_id, "tab-of-a-dead-process")
    tab = await open_chat(artist)
    await answer(tab, "Luna Roja")
    await sent(group_sends, 2)  # sent: the chat seems to have another tab
    await asyncio.sleep(2.5)  # the dead tab's entry expired; the open one was renewed
    await answer(tab, "house")
    await asyncio.sleep(0.3)
    assert len(group_sends) == 2
    second = await open_chat(artist)
    await answer(second, "desde 2014")
    assert "desde 2014" in await tab.receive_from(5)  # renewed: still listed after its first TTL


async def test_when_the_list_cannot_be_read_the_fragments_are_sent_anyway(artist, open_chat, group_sends, monkeypatch):
    tab = await open_chat(artist)
    unreachable = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(throttle, "async_redis", lambda: unreachable)
    await answer(tab, "Luna Roja")
    await sent(group_sends, 2)


async def test_an_open_socket_renews_its_groups_and_entries_left_behind_expire(artist, open_chat, monkeypatch):
    """Group entries live CHANNEL_LAYERS' group_expiry unless renewed: an open socket renews its
    own; one whose cleanup never ran (a killed process) stops costing every broadcast."""
    layer = get_channel_layer()
    monkeypatch.setattr(layer, "group_expiry", 2)
    monkeypatch.setattr(throttle, "SOCKET_COUNT_REFRESH", 0.3)
    tab = await open_chat(artist)
    await layer.group_add(BROADCAST_GROUP, "left-behind.channel")
    await asyncio.sleep(3.5)  # past the expiry as channels-redis counts it (whole seconds)
    await layer.group_send(BROADCAST_GROUP, {"type": BROADCAST_EVENT, "level": int(Level.DEGRADED), "forced": True,
                                             "reason": "test"})
    assert "banner--degraded" in await tab.receive_from(5)
    group_key = f"{settings.CHANNEL_LAYERS['default']['CONFIG']['prefix']}:group:{BROADCAST_GROUP}"
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    try:
        assert await client.zscore(group_key, "left-behind.channel") is None  # dropped by the send
    finally:
        await client.aclose()
