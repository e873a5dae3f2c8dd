"""The channel-layer group of each chat: every open tab of a chat listens to it."""
GROUP_EVENT = "chat.fragments"


def group_name(session_id: str) -> str:
    return f"chat.{session_id}"
