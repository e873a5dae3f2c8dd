"""The channel-layer group of each chat: every open tab of a chat listens to it."""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

GROUP_EVENT = "chat.fragments"


def group_name(session_id: str) -> str:
    return f"chat.{session_id}"


async def group_publish(session_id: str, html: str, *, origin: str | None) -> None:
    """Fragments for every open tab of the chat but `origin` (the tab that already has them)."""
    await get_channel_layer().group_send(group_name(session_id), {"type": GROUP_EVENT, "html": html, "origin": origin})


def group_publish_now(session_id: str, html: str) -> None:
    """From sync code (a worker, a replay): fragments for every open tab of the chat. Best
    effort: what they show is saved, and a page loaded later shows it."""
    try:
        async_to_sync(group_publish)(session_id, html, origin=None)
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
