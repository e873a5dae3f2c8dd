"""The provider chain: each member in turn, a clean hand-over on failure, an emergency reply last."""
from __future__ import annotations

from collections.abc import Sequence

import pytest
from django.core.exceptions import ImproperlyConfigured

from chat.chain import EMERGENCY_PROVIDER, ProviderChain, chain_from_settings
from chat.providers.base import ReplyKind, ReplyRequest
from chat.providers.template import compose_reply, emergency_reply


class Scripted:
    """A chain member that writes `tokens`, then raises `error` if one is given."""

    cacheable = False

    def __init__(self, name: str, tokens: Sequence[str] = (), error: Exception | None = None) -> None:
        self.name = name
        self.tokens = list(tokens)
        self.error = error
        self.calls = 0

    async def write(self, request: ReplyRequest, sink) -> str:
        self.calls += 1
        for token in self.tokens:
            await sink.token(token)
        if self.error is not None:
            raise self.error
        return "".join(self.tokens)


def healthy(name: str, text: str) -> Scripted:
    return Scripted(name, [f"{word} " for word in text.split()])


def broken(name: str, tokens: Sequence[str] = ()) -> Scripted:
    return Scripted(name, tokens, error=RuntimeError(f"{name} is down"))


class RecordingSink:
    """Keeps what the artist would see: tokens shown so far, and every call in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.visible: list[str] = []

    async def token(self, text: str) -> None:
        self.events.append(("token", text))
        self.visible.append(text)

    async def discard(self) -> None:
        self.events.append(("discard", ""))
        self.visible.clear()

    @property
    def discards(self) -> int:
        return sum(1 for kind, _ in self.events if kind == "discard")

    @property
    def text(self) -> str:
        return "".join(self.visible).strip()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def reply_request() -> ReplyRequest:
    return ReplyRequest(session_id="session-1", language="es", kind=ReplyKind.ADVANCE, step=1,
                        next_step=2, answer="Luna Roja", artist_name="Luna Roja")


@pytest.mark.asyncio
async def test_the_first_healthy_provider_answers_without_fallback(reply_request, sink):
    first, second = healthy("first", "Hola desde el primero"), healthy("second", "No debería hablar")
    reply = await ProviderChain([first, second]).reply(reply_request, sink)

    assert (reply.text, reply.provider, reply.fallback_used) == ("Hola desde el primero", "first", False)
    assert second.calls == 0
    assert sink.text == reply.text and sink.discards == 0


@pytest.mark.asyncio
async def test_a_provider_failing_before_any_token_is_skipped(reply_request, sink):
    reply = await ProviderChain([broken("first"), healthy("second", "Respuesta del segundo")]).reply(reply_request, sink)

    assert (reply.text, reply.provider, reply.fallback_used) == ("Respuesta del segundo", "second", True)
    assert sink.discards == 0  # nothing was shown, so nothing to take back
    assert sink.text == "Respuesta del segundo"


@pytest.mark.asyncio
async def test_a_provider_failing_mid_reply_is_discarded_and_replaced(reply_request, sink):
    half = broken("first", ["Media ", "frase "])
    reply = await ProviderChain([half, healthy("second", "Respuesta completa")]).reply(reply_request, sink)

    assert sink.discards == 1
    assert sink.events[:3] == [("token", "Media "), ("token", "frase "), ("discard", "")]
    assert (reply.text, reply.provider, reply.fallback_used) == ("Respuesta completa", "second", True)
    assert "Media" not in reply.text
    assert sink.text == "Respuesta completa"


@pytest.mark.asyncio
@pytest.mark.parametrize("tokens", [[], ["   "], [" ", "\n", "\t "]])
async def test_an_empty_or_whitespace_reply_counts_as_a_failure(reply_request, sink, tokens):
    reply = await ProviderChain([Scripted("blank", tokens), healthy("second", "Aquí estoy")]).reply(reply_request, sink)

    assert (reply.text, reply.provider, reply.fallback_used) == ("Aquí estoy", "second", True)
    assert sink.text == "Aquí estoy"


@pytest.mark.asyncio
@pytest.mark.parametrize("providers", [
    [],
    [broken("first")],
    [broken("first", ["Casi "]), Scripted("blank", ["  "]), broken("third")],
])
async def test_when_every_provider_fails_the_emergency_reply_is_used(reply_request, sink, providers):
    reply = await ProviderChain(providers).reply(reply_request, sink)

    assert reply.text == emergency_reply(reply_request)
    assert (reply.provider, reply.fallback_used) == (EMERGENCY_PROVIDER, True)
    assert sink.events[-1] == ("token", reply.text)
    assert sink.text == reply.text


@pytest.mark.asyncio
async def test_chain_from_settings_builds_the_template_responder(reply_request, sink, settings):
    settings.AI_PROVIDER_CHAIN = ["template"]
    reply = await chain_from_settings().reply(reply_request, sink)

    assert (reply.text, reply.provider, reply.fallback_used) == (compose_reply(reply_request), "template", False)
    assert sink.text == reply.text


@pytest.mark.asyncio
@pytest.mark.parametrize("chain", [["nonexistent"], ["template", "nonexistent"]])
async def test_chain_from_settings_rejects_an_unknown_provider(settings, chain):
    settings.AI_PROVIDER_CHAIN = chain
    with pytest.raises(ImproperlyConfigured, match="nonexistent"):
        chain_from_settings()
