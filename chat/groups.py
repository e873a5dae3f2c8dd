"""The channel-layer group of each chat: every open tab of a chat listens to it."""
from channels.layers import get_channel_layer

GROUP_EVENT = "chat.fragments"


def group_name(session_id: str) -> str:
    return f"chat.{session_id}"


async def group_publish(session_id: str, html: str, *, origin: str | None) -> None:
    """Fragments for every open tab of the chat but `origin` (the tab that already has them)."""
    await get_channel_layer().group_send(group_name(session_id), {"type": GROUP_EVENT, "html": html, "origin": origin})
