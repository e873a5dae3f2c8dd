"""The provider chain: each member in turn until one answers; an emergency reply if none does.

Members stream their tokens to a sink as they come. If a member fails after some tokens were
shown, the sink is told to discard them, so the artist never keeps a half sentence: the next
member's reply replaces it cleanly. The order comes from `AI_PROVIDER_CHAIN`; AI providers
without their key (or URL) are left out; when any AI provider is configured, the reply cache
stands before the template responder, which is always last and always answers.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from chat.providers.ai import AIMember, Deadlines
from chat.providers.base import ChainMember, ReplyRequest, ReplySink
from chat.providers.cache import CachedReplyMember, ReplyCache
from chat.providers.streams import AnthropicStream, OpenAICompatibleStream
from chat.providers.template import TemplateResponder, emergency_reply
from chat.turn_log import TurnLog, current_turn_log
from resilience.ai_records import RecoveryStrategy

logger = logging.getLogger(__name__)

EMERGENCY_PROVIDER = "emergency"
AI_PROVIDERS = ("openai", "anthropic", "local")


@dataclass(frozen=True)
class Reply:
    text: str
    provider: str
    fallback_used: bool


class _Tracking:
    """Passes tokens on and remembers whether any reached the artist (members never discard:
    the chain does, when it moves on)."""

    def __init__(self, sink: ReplySink) -> None:
        self.sink = sink
        self.sent = False

    async def token(self, text: str) -> None:
        self.sent = True
        await self.sink.token(text)


class ProviderChain:
    def __init__(self, members: Sequence[ChainMember], replies: ReplyCache | None = None) -> None:
        self.members = list(members)
        self.replies = replies

    async def reply(self, request: ReplyRequest, sink: ReplySink, log: TurnLog | None = None, *,
                    ai_allowed: bool = True) -> Reply:
        """`ai_allowed=False` (staff forced a level without AI, e.g. for maintenance): only the
        template responder answers."""
        log = log or TurnLog(request.session_id, request.step)
        templates_only = not ai_allowed or request.kind.ours
        members = [m for m in self.members if isinstance(m, TemplateResponder)] if templates_only else self.members
        token = current_turn_log.set(log)
        try:
            return await self._reply(members, request, sink, log, set_aside=not ai_allowed)
        finally:
            current_turn_log.reset(token)

    async def _reply(self, members: Sequence[ChainMember], request: ReplyRequest, sink: ReplySink,
                     log: TurnLog, *, set_aside: bool) -> Reply:
        handover = None
        for position, member in enumerate(members):
            if position > 0:
                handover = log.recovery_start(_strategy(member), f"{members[position - 1].name} -> {member.name}")
            tracking = _Tracking(sink)
            try:
                text = (await member.write(request, tracking)).strip()
            except Exception as error:
                # Logged without the artist's content: the request's ids say enough.
                logger.warning("chain member %s could not answer (session %s, step %s): %s",
                               member.name, request.session_id, request.step, type(error).__name__)
                text = ""
            if handover is not None:
                log.recovery_end(handover, bool(text))
            if text:
                if member.cacheable and self.replies is not None:
                    self.replies.put_later(request, text)  # not on the reply's path
                # A reply while AI is set aside by staff is a backup reply too.
                return Reply(text, member.name,
                             fallback_used=position > 0 or (set_aside and len(members) < len(self.members)))
            if tracking.sent:
                await sink.discard()
        text = emergency_reply(request)
        await sink.token(text)
        return Reply(text, EMERGENCY_PROVIDER, fallback_used=True)


def _strategy(member: ChainMember) -> RecoveryStrategy:
    if isinstance(member, CachedReplyMember):
        return RecoveryStrategy.CACHE
    if isinstance(member, TemplateResponder):
        return RecoveryStrategy.TEMPLATE
    return RecoveryStrategy.FALLBACK


def is_configured(name: str) -> bool:
    """An AI provider is used only with its key (or, for `local`, its URL)."""
    required = {"openai": settings.OPENAI_API_KEY, "anthropic": settings.ANTHROPIC_API_KEY,
                "local": settings.LOCAL_LLM_BASE_URL}
    return bool(required.get(name))


def text_stream_for(name: str):
    """The configured stream for an AI provider, or None when its key or URL is missing."""
    if not is_configured(name):
        return None
    common = {"timeout": settings.AI_TOTAL_TIMEOUT, "max_tokens": settings.AI_MAX_TOKENS}
    if name == "openai":
        return OpenAICompatibleStream(name=name, model=settings.OPENAI_MODEL, api_key=settings.OPENAI_API_KEY,
                                      base_url=settings.OPENAI_BASE_URL or None, **common)
    if name == "anthropic":
        return AnthropicStream(name=name, model=settings.ANTHROPIC_MODEL, api_key=settings.ANTHROPIC_API_KEY,
                               base_url=settings.ANTHROPIC_BASE_URL or None, **common)
    if name == "local":
        return OpenAICompatibleStream(name=name, model=settings.LOCAL_LLM_MODEL,
                                      api_key=settings.LOCAL_LLM_API_KEY or "local",
                                      base_url=settings.LOCAL_LLM_BASE_URL, **common)
    return None


def configured_ai_providers() -> list[str]:
    """The configured AI providers of AI_PROVIDER_CHAIN, in chain order, without building any
    client. The degradation manager reads it (`DEGRADATION_AI_PROVIDERS`): no provider
    configured is not an outage."""
    return list(dict.fromkeys(name for name in settings.AI_PROVIDER_CHAIN if is_configured(name)))


def _build_chain() -> ProviderChain:
    unknown = set(settings.AI_PROVIDER_CHAIN) - {*AI_PROVIDERS, "template"}
    if unknown:
        raise ImproperlyConfigured(f"AI_PROVIDER_CHAIN names unknown providers: {sorted(unknown)}")
    deadlines = Deadlines(first_token=settings.AI_FIRST_TOKEN_TIMEOUT, total=settings.AI_TOTAL_TIMEOUT,
                          idle=settings.AI_STREAM_IDLE_TIMEOUT)
    members: list[ChainMember] = [
        AIMember(stream, deadlines)
        for name in settings.AI_PROVIDER_CHAIN
        if name in AI_PROVIDERS and (stream := text_stream_for(name)) is not None
    ]
    replies = ReplyCache(settings.AI_REPLY_CACHE_TTL) if members else None
    if replies is not None:
        members.append(CachedReplyMember(replies))
    members.append(TemplateResponder(token_delay=settings.CHAT_TEMPLATE_TOKEN_DELAY))
    return ProviderChain(members, replies)


# The SDK clients hold connection pools tied to an event loop: one chain per loop (Daphne has
# one), rebuilt when the settings it was built from change; chains of closed loops are dropped.
_CHAIN_SETTINGS = (
    "AI_PROVIDER_CHAIN", "AI_FIRST_TOKEN_TIMEOUT", "AI_TOTAL_TIMEOUT", "AI_STREAM_IDLE_TIMEOUT", "AI_MAX_TOKENS", "AI_REPLY_CACHE_TTL",
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL", "LOCAL_LLM_BASE_URL", "LOCAL_LLM_MODEL", "LOCAL_LLM_API_KEY", "CHAT_TEMPLATE_TOKEN_DELAY",
)
_chains: dict[asyncio.AbstractEventLoop, tuple[tuple, ProviderChain]] = {}


def chain_from_settings() -> ProviderChain:
    loop = asyncio.get_running_loop()
    for gone in [other for other in _chains if other.is_closed()]:
        del _chains[gone]
    fingerprint = tuple(repr(getattr(settings, name)) for name in _CHAIN_SETTINGS)
    built = _chains.get(loop)
    if built is None or built[0] != fingerprint:
        built = (fingerprint, _build_chain())
        _chains[loop] = built
    return built[1]
