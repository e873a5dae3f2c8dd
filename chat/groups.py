"""The channel-layer group of each chat: every open tab of a chat listens to it.

Most chats are open in one tab, and a group send is the costliest Redis work of a turn (in
channels-redis a script and the fragment packed, then the asking tab receives its own fragment
back only to drop it: ~2.7 ms of CPU per fragment, two fragments a turn). So each chat's open tabs
are also listed in Redis, a sorted set of their channel names scored by expiry, renewed while the
socket is open (as the client's socket count is, chat.throttle): a fragment for the other tabs is
sent only when the chat has another tab. When the list cannot be read, it is sent anyway.
"""
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from chat import throttle

logger = logging.getLogger(__name__)

GROUP_EVENT = "chat.fragments"


def group_name(session_id: str) -> str:
    return f"chat.{session_id}"


def _tabs_key(session_id: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:chat-tabs:{session_id}"


async def tab_open(session_id: str, channel: str) -> None:
    """List this socket among its chat's open tabs, or renew its entry (it expires unless renewed
    within throttle.SOCKET_ENTRY_TTL: a process that died leaves no tab listed for long)."""
    now, ttl = time.time(), throttle.SOCKET_ENTRY_TTL
    try:
        async with throttle.async_redis().pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(_tabs_key(session_id), "-inf", now)
            pipe.zadd(_tabs_key(session_id), {channel: now + ttl})
            pipe.pexpire(_tabs_key(session_id), int(ttl * 1000))
            await pipe.execute()
    except throttle.REDIS_ERRORS as error:  # the other tabs then do not know of this one until renewed
        logger.warning("open tab not listed (chat %s, Redis: %s)", session_id, type(error).__name__)


async def tab_closed(session_id: str, channel: str) -> None:
    try:
        await throttle.async_redis().zrem(_tabs_key(session_id), channel)
    except throttle.REDIS_ERRORS as error:  # its entry expires by itself: nothing for an operator to do
        logger.info("closed tab not unlisted, left to expire (chat %s, Redis: %s)", session_id, type(error).__name__)


async def _has_other_tabs(session_id: str, origin: str | None) -> bool:
    try:
        tabs = await throttle.async_redis().zrangebyscore(_tabs_key(session_id), time.time(), "+inf")
    except throttle.REDIS_ERRORS:
        return True  # unknown: send, as if every tab were open
    return any(tab.decode() != origin for tab in tabs)


async def _group_send(session_id: str, html: str, origin: str | None) -> None:
    await get_channel_layer().group_send(group_name(session_id), {"type": GROUP_EVENT, "html": html, "origin": origin})


async def group_publish(session_id: str, html: str, *, origin: str | None) -> None:
    """Fragments for every open tab of the chat but `origin` (the tab that already has them)."""
    if await _has_other_tabs(session_id, origin):
        await _group_send(session_id, html, origin)


def group_publish_now(session_id: str, html: str) -> None:
    """From sync code (a worker, a replay): fragments for every open tab of the chat, sent to the
    group unasked (rare, and outside any chat's event loop). Best effort: what they show is saved,
    and a page loaded later shows it."""
    try:
        async_to_sync(_group_send)(session_id, html, None)
    except Exception:  # noqa: BLE001 - only the live display is lost
        logger.exception("fragments not pushed to the open pages of chat %s", session_id)


def presskit_push(*, presskit_id: str, **signal: object) -> None:
    """Show a presskit changed outside a turn (e.g. a worker stored its photo) on every open page
    of its chat: the draft panel, swapped in place. Best effort: a page loaded later shows it.
    Connected to presskit.signals.presskit_changed (chat.apps)."""
    from chat.models import ChatSession  # the models and the page's context, loaded on use
    from chat.rendering import render_draft
    from resilience.degradation import degradation_current

    session = ChatSession.objects.select_related("presskit").filter(presskit_id=presskit_id).first()
    if session is None:
        return
    group_publish_now(str(session.pk), render_draft(session, degradation_current().level))
