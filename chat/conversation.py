"""One turn of the conversation, from the artist's command to the recorded reply.

Used by the WebSocket consumer and by the no-JavaScript form alike. The artist's message is
saved (in `services`) before the provider chain is asked for a reply. Every fragment goes to
the tab that asked (through its sink) and to the chat's other open tabs (through the channel
layer group), so two tabs of the same chat stay in step.
"""
from __future__ import annotations

import logging
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat import rendering, services
from chat.chain import Reply, chain_from_settings
from chat.frames import Command, CommandKind
from chat.providers.base import ReplySink
from chat.turn_log import TurnLog
from resilience.ai_log import ai_log_write

logger = logging.getLogger(__name__)

GROUP_EVENT = "chat.fragments"


class TurnSink(ReplySink, Protocol):
    """The asking tab: gets the reply's tokens as they come and each finished fragment."""

    async def show(self, html: str) -> None: ...


def group_name(session_id: str) -> str:
    return f"chat.{session_id}"


async def _publish(session_id: str, html: str, sink: TurnSink, origin: str | None) -> None:
    await sink.show(html)
    await get_channel_layer().group_send(
        group_name(session_id), {"type": GROUP_EVENT, "html": html, "origin": origin}
    )


def _apply(session_id: str, command: Command) -> services.Turn:
    match command.kind:
        case CommandKind.MESSAGE:
            return services.answer_submit(session_id=session_id, text=command.text)
        case CommandKind.EDIT:
            return services.answer_edit_start(session_id=session_id, step=command.step or 0)
        case CommandKind.RESUME:
            return services.answer_edit_cancel(session_id=session_id)
        case CommandKind.RESTART:
            return services.chat_session_restart(session_id=session_id)
    raise ValueError(f"unknown command {command.kind!r}")


async def command_handle(*, session_id: str, command: Command, sink: TurnSink, origin: str | None) -> None:
    """Carry out the artist's command and deliver the reply. Raises `services.InvalidAction`."""
    turn = await database_sync_to_async(_apply)(session_id, command)
    if turn.message is not None:
        html = rendering.render_user_turn(turn.message, turn.session.language)
        await _publish(session_id, html, sink, origin)
    log = TurnLog(session_id, turn.request.step)
    reply = await chain_from_settings().reply(turn.request, sink, log)
    message = await database_sync_to_async(services.reply_record)(
        session_id=session_id, request=turn.request, reply=reply
    )
    html = await database_sync_to_async(rendering.render_turn_done)(session_id, message)
    await _publish(session_id, html, sink, origin)
    await _log_ai_requests(log, reply)


async def _log_ai_requests(log: TurnLog, reply: Reply) -> None:
    """After the artist has the reply, so logging never delays it; a failure here is logged
    and goes no further."""
    requests, recoveries = log.finished(fallback_used=reply.fallback_used)
    if not requests and not recoveries:
        return
    try:
        await database_sync_to_async(ai_log_write)(requests=requests, recoveries=recoveries)
    except Exception:
        logger.exception("AI request log not written (turn %s)", log.turn_id)
