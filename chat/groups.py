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


def presskit_push(*, presskit_id: str) -> None:
    """Show a presskit changed outside a turn (e.g. a worker stored its photo) on every open page
    of its chat: the draft panel, swapped in place. Best effort: a page loaded later shows it."""
    from chat.models import ChatSession  # the models and the page's context, loaded on use
    from chat.rendering import render_draft
    from resilience.degradation import degradation_current

    session = ChatSession.objects.select_related("presskit").filter(presskit_id=presskit_id).first()
    if session is None:
        return
    try:
        html = render_draft(session, degradation_current().level)
        async_to_sync(group_publish)(str(session.pk), html, origin=None)
    except Exception:  # noqa: BLE001 - the change is saved; only its live display is lost
        logger.exception("presskit change not pushed to its open pages (presskit %s)", presskit_id)
