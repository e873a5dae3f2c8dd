"""A chat's fragments go to its other open tabs only when it has some: each chat's open tabs are
listed in Redis (renewed while open, expiring when a process dies without saying so), and a chat
open in one tab sends nothing to its group. Unreadable list: sent anyway."""
import asyncio

import pytest
import pytest_asyncio
import redis.asyncio
from channels.layers import get_channel_layer

from chat import groups, throttle
from resilience.degradation import BROADCAST_EVENT, BROADCAST_GROUP, Level
from tests.conftest import answer

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest_asyncio.fixture
async def listener(artist):
    """A channel in the chat's group that is no tab of it: it hears what is sent to the group."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(groups.group_name(artist.chat_id), channel)
    yield lambda timeout=0.5: asyncio.wait_for(layer.receive(channel), timeout)
    await layer.group_discard(groups.group_name(artist.chat_id), channel)


async def test_a_chat_open_in_one_tab_sends_nothing_to_its_group(artist, open_chat, listener):
    tab = await open_chat(artist)
    frames = await answer(tab, "Luna Roja")
    assert "Paso 2 de 7" in frames[-1]
    with pytest.raises(TimeoutError):
        await listener()


async def test_a_second_tab_gets_the_turn_and_once_it_closes_the_group_hears_nothing(artist, open_chat, listener):
    first, second = await open_chat(artist), await open_chat(artist)
    await answer(first, "Luna Roja")
    assert "Luna Roja" in await second.receive_from(5)
    assert "Paso 2 de 7" in await second.receive_from(5)
    assert "Luna Roja" in (await listener(5))["html"]
    assert "Paso 2 de 7" in (await listener(5))["html"]

    await second.disconnect()
    await answer(first, "house")
    with pytest.raises(TimeoutError):
        await listener()


async def test_a_dead_processs_tab_stops_counting_and_an_open_tab_renews_its_own(artist, open_chat, listener,
                                                                                  monkeypatch):
    monkeypatch.setattr(throttle, "SOCKET_COUNT_REFRESH", 0.3)
    monkeypatch.setattr(throttle, "SOCKET_ENTRY_TTL", 2.0)
    await groups.tab_open(artist.chat_id, "tab-of-a-dead-process")
    tab = await open_chat(artist)
    await answer(tab, "Luna Roja")
    assert "Luna Roja" in (await listener(5))["html"]  # sent: the chat seems to have another tab
    await listener(5)
    await asyncio.sleep(2.5)  # the dead tab's entry expired; the open one was renewed
    await answer(tab, "house")
    with pytest.raises(TimeoutError):
        await listener()
    second = await open_chat(artist)
    await answer(second, "desde 2014")
    assert "desde 2014" in await tab.receive_from(5)  # renewed: still listed after its first TTL


async def test_when_the_list_cannot_be_read_the_fragments_are_sent_anyway(artist, open_chat, listener, monkeypatch):
    tab = await open_chat(artist)
    unreachable = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(throttle, "async_redis", lambda: unreachable)
    await answer(tab, "Luna Roja")
    assert "Luna Roja" in (await listener(5))["html"]


async def test_an_open_socket_renews_its_groups_and_entries_left_behind_expire(artist, open_chat, monkeypatch):
    """Group entries live CHANNEL_LAYERS' group_expiry unless renewed: an open socket renews its
    own; one whose cleanup never ran (a killed process) stops costing every broadcast."""
    layer = get_channel_layer()
    monkeypatch.setattr(layer, "group_expiry", 2)
    monkeypatch.setattr(throttle, "SOCKET_COUNT_REFRESH", 0.3)
    tab = await open_chat(artist)
    left_behind = await layer.new_channel()
    await layer.group_add(BROADCAST_GROUP, left_behind)
    await asyncio.sleep(2.5)
    await layer.group_send(BROADCAST_GROUP, {"type": BROADCAST_EVENT, "level": int(Level.DEGRADED), "forced": True,
                                             "reason": "test"})
    assert "banner--degraded" in await tab.receive_from(5)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(left_behind), 0.5)
