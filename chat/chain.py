"""The provider chain: each member in turn until one answers; an emergency reply if none does.

The chain streams each member's tokens to a sink as they come. If a member fails after some
tokens were shown, the sink is told to discard them, so the artist never keeps a half sentence:
the next member's reply replaces it cleanly.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from chat.providers.base import Provider, ReplyRequest
from chat.providers.template import TemplateResponder, emergency_reply

logger = logging.getLogger(__name__)

EMERGENCY_PROVIDER = "emergency"


@dataclass(frozen=True)
class Reply:
    text: str
    provider: str
    fallback_used: bool


class ReplySink(Protocol):
    """Where a reply's tokens go while it is being written."""

    async def token(self, text: str) -> None: ...

    async def discard(self) -> None: ...


class ProviderChain:
    def __init__(self, providers: Sequence[Provider]) -> None:
        self.providers = list(providers)

    async def reply(self, request: ReplyRequest, sink: ReplySink) -> Reply:
        for position, provider in enumerate(self.providers):
            text = await self._try(provider, request, sink)
            if text:
                return Reply(text, provider.name, fallback_used=position > 0)
        text = emergency_reply(request)
        await sink.token(text)
        return Reply(text, EMERGENCY_PROVIDER, fallback_used=True)

    @staticmethod
    async def _try(provider: Provider, request: ReplyRequest, sink: ReplySink) -> str:
        """The provider's whole reply, streamed to the sink; "" (and nothing left shown) if it
        failed or said nothing."""
        shown: list[str] = []
        sent_any = False
        tokens = aiter(provider.stream(request))
        while True:
            try:
                token = await anext(tokens)
            except StopAsyncIteration:
                break
            except Exception:
                # Logged without the artist's content: the request's ids say enough.
                logger.exception("provider %s failed (session %s, step %s, kind %s)",
                                 provider.name, request.session_id, request.step, request.kind)
                shown.clear()
                break
            shown.append(token)
            sent_any = True
            await sink.token(token)  # outside the provider's error scope: not its fault if it fails
        text = "".join(shown).strip()
        if not text:
            logger.warning("provider %s gave no reply (session %s, step %s)",
                           provider.name, request.session_id, request.step)
            if sent_any:
                await sink.discard()
        return text


def _provider(name: str) -> Provider:
    if name == "template":
        return TemplateResponder(token_delay=settings.CHAT_TEMPLATE_TOKEN_DELAY)
    raise ImproperlyConfigured(f"AI_PROVIDER_CHAIN names an unknown provider: {name!r}")


def chain_from_settings() -> ProviderChain:
    return ProviderChain([_provider(name) for name in settings.AI_PROVIDER_CHAIN])
