"""One turn of the conversation, from the artist's command to the recorded reply.

Used by the WebSocket consumer and by the no-JavaScript form alike. The artist's message is
saved (in `services`) before the provider chain is asked for a reply. Every fragment goes to
the tab that asked (through its sink) and to the chat's other open tabs (through the channel
layer group), so two tabs of the same chat stay in step.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from asgiref.sync import sync_to_async
from django.db import InterfaceError, OperationalError, connection

from chat import bios, rendering, services, throttle
from chat.chain import Reply, chain_from_settings
from chat.db import in_database_pool
from chat.frames import PRESSKIT_ACTIONS, Command, CommandKind
from chat.groups import group_publish
from chat.kept import pending_answer_keep
from chat.pending import pending_answers_replay_chat
from chat.providers.base import ReplyRequest, ReplySink
from chat.turn_log import TurnLog, turn_log_write
from presskit.integrations import integrations_sync
from resilience.degradation import DegradationState, Level, degradation_current, request_evaluation

logger = logging.getLogger(__name__)

class TurnSink(ReplySink, Protocol):
    """The asking tab: told the reply is being written the moment it is, then gets the reply's
    tokens as they come and each finished fragment."""

    async def typing(self) -> None: ...

    async def show(self, html: str) -> None: ...


async def _publish(session_id: str, html: str, sink: TurnSink, origin: str | None) -> None:
    await sink.show(html)
    await group_publish(session_id, html, origin=origin)


async def _publish_to_other_tabs(session_id: str, html: str, origin: str | None) -> None:
    """Best effort: a tab that misses the answer shows it on its next load (it is saved)."""
    try:
        await group_publish(session_id, html, origin=origin)
    except Exception:  # noqa: BLE001 - only the live display in the other tabs is lost
        logger.exception("answer not pushed to the other tabs of chat %s", session_id)


def _replay_then_apply(session_id: str, command: Command, language: str) -> services.Turn:
    """Answers kept during an outage come first, in order, before anything new."""
    pending_answers_replay_chat(session_id)
    return _apply(session_id, command, language)


def _apply(session_id: str, command: Command, language: str) -> services.Turn:
    match command.kind:
        case CommandKind.MESSAGE:
            return services.answer_submit(session_id=session_id, text=command.text, new_chat_language=language)
        case CommandKind.EDIT:
            return services.answer_edit_start(session_id=session_id, step=command.step or 0)
        case CommandKind.SET:
            return services.answer_set(session_id=session_id, step=command.step or 0, text=command.text)
        case CommandKind.RESUME:
            return services.answer_edit_cancel(session_id=session_id)
        case CommandKind.RESTART:
            return services.chat_session_restart(session_id=session_id)
        case CommandKind.SECTION:
            return services.section_start(session_id=session_id, name=command.section)
    raise ValueError(f"unknown command {command.kind!r}")


class TooFast(Exception):
    """This chat asked for turns faster than CHAT_TURN_LIMITS allow: nothing was done or stored."""

    code = "too_fast"


class ServiceReadOnly(Exception):
    """The database cannot take writes (MINIMAL or worse) and this command cannot wait for it
    (an action), or not even Redis could keep the answer. `code` names the artist's message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def _keep(session_id: str, command: Command, language: str, sink: TurnSink, origin: str | None,
                cause: BaseException | None = None) -> None:
    """No writes now: keep a message for later, shown in the transcript as pending until it is
    applied; refuse actions (ServiceReadOnly)."""
    if command.kind is not CommandKind.MESSAGE:
        raise ServiceReadOnly("read_only") from cause
    try:
        kept = await sync_to_async(pending_answer_keep, thread_sensitive=False)(
            session_id=session_id, text=command.text, language=language)
    except Exception as error:  # not even Redis: nothing can keep it
        logger.exception("answer could not be kept (session %s)", session_id)
        raise ServiceReadOnly("internal") from error
    await _publish(session_id, rendering.render_kept_answer(kept, language), sink, origin)


async def _service_state() -> DegradationState:
    return await sync_to_async(degradation_current, thread_sensitive=False)()


# An outage is a connection that failed, never a row the database refused for its data (a
# DataError or IntegrityError is a bug or bad input: keeping that answer to replay it would fail
# the same way forever).
DATABASE_AWAY = (OperationalError, InterfaceError)

_PRESSKIT_ACTIONS = {
    CommandKind.PUBLISH: services.presskit_publish_from_chat,
    CommandKind.UNPUBLISH: services.presskit_unpublish_from_chat,
    CommandKind.EDIT_LINK: services.edit_link_new_from_chat,
    CommandKind.LIST: services.presskit_list_from_chat,
    CommandKind.UNLIST: services.presskit_unlist_from_chat,
}


def _panel_change(session_id: str, command: Command):
    """A change made in the panel that needs no word from the assistant."""
    if command.kind is CommandKind.PLAYER:
        return services.player_choose_from_chat(session_id=session_id, item=command.item)
    if command.kind is CommandKind.PHOTO:
        return services.photo_change_from_chat(session_id=session_id, operation=command.operation,
                                               photo_id=command.photo_id, credit=command.text)
    return services.section_item_remove_from_chat(session_id=session_id, name=command.section, item=command.item)


async def _presskit_action(session_id: str, command: Command, sink: TurnSink, origin: str | None,
                           level: Level) -> str:
    """Publish, unpublish, list, unlist, a new edit link: done by our code, no provider asked. A new edit
    link's token goes to the asking tab only, never to the group nor to the transcript. Taking a
    date or a quote out, choosing the page's player or changing a photo changes the panel only."""
    if command.kind in (CommandKind.REMOVE, CommandKind.PLAYER, CommandKind.PHOTO):
        session = await in_database_pool(_panel_change)(session_id, command)
        await _publish(session_id, await in_database_pool(rendering.render_draft)(session, level), sink, origin)
        return ""
    done = await in_database_pool(_PRESSKIT_ACTIONS[command.kind])(session_id=session_id)
    html = await in_database_pool(rendering.render_turn_done)(session_id, done.message, level)
    await _publish(session_id, html, sink, origin)
    if done.edit_token:
        await sink.show(rendering.render_edit_link(done.edit_token, done.session.language))
    return done.edit_token


async def command_handle(*, session_id: str, command: Command, sink: TurnSink, origin: str | None,
                         language: str) -> str:
    """Carry out the artist's command and deliver the reply; `language`: the chat's, which it is
    stored in if this is its first answer. Returns a new private edit link's token when the
    command made one ("" otherwise). When the database cannot take writes, an answer is kept for
    later (and shown as pending) and an action raises `ServiceReadOnly`. Raises
    `services.InvalidAction`, or `TooFast` when the chat is over its turn limits (nothing is
    stored)."""
    if not await throttle.turn_allowed(session_id):
        raise TooFast
    state = await _service_state()
    if state.level >= Level.MINIMAL:
        await _keep(session_id, command, language, sink, origin)
        return ""
    if command.kind in PRESSKIT_ACTIONS:
        try:
            return await _presskit_action(session_id, command, sink, origin, state.level)
        except DATABASE_AWAY as error:
            logger.exception("presskit action without its database (session %s)", session_id)
            request_evaluation()
            raise ServiceReadOnly("read_only") from error
    try:
        turn = await in_database_pool(_replay_then_apply)(session_id, command, language)
    except DATABASE_AWAY as error:  # the database went away before the level said so
        logger.exception("chat turn without its database (session %s)", session_id)
        request_evaluation()
        await _keep(session_id, command, language, sink, origin, error)
        return ""
    echo = None
    if turn.message is not None:
        html = rendering.render_user_turn(turn.message, turn.session.language)
        await sink.show(html)
        # The other tabs get the answer while the provider is asked, not before.
        echo = asyncio.create_task(_publish_to_other_tabs(session_id, html, origin))
    log = TurnLog(session_id, turn.request.step)
    ai_allowed = not (state.forced and state.level >= Level.LIMITED)  # maintenance: templates only
    try:
        await sink.typing()  # never a silent page while a provider thinks (or fails)
        reply = await chain_from_settings().reply(turn.request, sink, log, ai_allowed=ai_allowed)
    finally:
        if echo is not None:
            await echo  # before any later fragment, so every tab shows the turn in order
    _log_ai_requests_later(log, reply)
    if not bios.finishes_presskit(turn.request):
        # A restart may take a finished presskit back to its first step: the whole panel then.
        html = await in_database_pool(_record_then_render)(session_id, turn.request, reply, state.level,
                                                           steps_only=command.kind is not CommandKind.RESTART)
        await _publish(session_id, html, sink, origin)
        return ""
    # The last answer: the reply, then the bio ends this turn; then the integrations.
    message = await in_database_pool(services.reply_record)(session_id=session_id, request=turn.request, reply=reply)
    await _publish(session_id, rendering.render_reply_then_typing(message, turn.session.language), sink, origin)
    message = await bios.bio_after_answers(session_id=session_id, version=services.finish_version(turn.message),
                                           ai_allowed=ai_allowed)
    _in_background(sync_to_async(_integrations_sync_closing, thread_sensitive=False)(
        presskit_id=str(turn.session.presskit_id), version=services.finish_version(turn.message)),
        f"integrations of presskit {turn.session.presskit_id}")
    html = await in_database_pool(rendering.render_turn_done)(session_id, message, state.level)
    await _publish(session_id, html, sink, origin)
    return ""


def _record_then_render(session_id: str, request: ReplyRequest, reply: Reply, level: Level, *,
                        steps_only: bool) -> str:
    """The reply stored and the turn's last fragment rendered in one database call (one thread hop)."""
    message = services.reply_record(session_id=session_id, request=request, reply=reply)
    return rendering.render_turn_done(session_id, message, level, steps_only=steps_only)


_background: set[asyncio.Task] = set()


def _integrations_sync_closing(*, presskit_id: str, version: str) -> None:
    """The sends, in a worker thread of their own, whose connection goes back to the pool at the
    end whatever happens (the thread may outlive the turn that started it)."""
    try:
        integrations_sync(presskit_id=presskit_id, version=version)
    finally:
        connection.close()


def _in_background(work, what: str) -> None:
    """Run a coroutine after the reply, without holding the artist up; a failure is logged."""

    async def run() -> None:
        try:
            await work
        except Exception:
            logger.exception("background work failed: %s", what)

    task = asyncio.get_running_loop().create_task(run())
    _background.add(task)
    task.add_done_callback(_background.discard)


def _log_ai_requests_later(log: TurnLog, reply: Reply) -> None:
    """Write the turn's AI request log in the background, so it never delays this or another chat."""
    if not log.requests and not log.recoveries:  # a template reply: nothing to write
        return
    _in_background(sync_to_async(turn_log_write, thread_sensitive=False)(log, fallback_used=reply.fallback_used),
                   f"AI request log of turn {log.turn_id}")
