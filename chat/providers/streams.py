"""The AI SDKs as plain async streams of text, each ending with `End` only when the provider
sent its terminal event. A stream that stops without it is broken, even though the SDKs end
such streams without raising (DESIGN.md): the caller checks for `End`."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anthropic
import httpx2  # both SDKs are built on httpx2 (not httpx)
import openai

from chat.prompts import Prompt


@dataclass(frozen=True)
class End:
    """The provider finished its reply on its own: not cut by the token limit or a filter."""

    tokens_in: int | None
    tokens_out: int | None


OPENAI_COMPLETE = frozenset({"stop"})
ANTHROPIC_COMPLETE = frozenset({"end_turn", "stop_sequence"})


class _SDKStream:
    sdk_client = None  # the SDK's async client class

    def __init__(self, *, name: str, model: str, api_key: str, base_url: str | None, timeout: float,
                 max_tokens: int) -> None:
        self.name = name
        self.model = model
        self.max_tokens = max_tokens
        # max_retries=0: the chain does its own retrying, so there is one retry loop.
        self.client = self.sdk_client(api_key=api_key, base_url=base_url, max_retries=0,
                                      timeout=httpx2.Timeout(timeout, connect=min(timeout, 3.0)))


class OpenAICompatibleStream(_SDKStream):
    """OpenAI's Chat Completions, or any server that speaks it (Ollama, llama.cpp, vLLM)."""

    sdk_client = openai.AsyncOpenAI

    async def stream(self, prompt: Prompt) -> AsyncIterator[str | End]:
        response = await self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            temperature=prompt.temperature,
            max_tokens=prompt.max_tokens or self.max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        finished, usage = False, None
        async with response:
            async for chunk in response:
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
                    # "length" or "content_filter": a reply cut short is not a reply.
                    finished = finished or choice.finish_reason in OPENAI_COMPLETE
        if finished:
            yield End(usage.prompt_tokens if usage else None, usage.completion_tokens if usage else None)


class AnthropicStream(_SDKStream):
    sdk_client = anthropic.AsyncAnthropic

    async def stream(self, prompt: Prompt) -> AsyncIterator[str | End]:
        response = await self.client.messages.create(
            model=self.model,
            system=prompt.system,
            messages=[{"role": "user", "content": prompt.user}],
            max_tokens=prompt.max_tokens or self.max_tokens,  # this SDK's Messages API takes no temperature
            stream=True,
        )
        stopped, complete, tokens_in, tokens_out = False, False, None, None
        async with response:
            async for event in response:
                if event.type == "message_start":
                    tokens_in = event.message.usage.input_tokens
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    yield event.delta.text
                elif event.type == "message_delta":
                    tokens_out = event.usage.output_tokens
                    complete = event.delta.stop_reason in ANTHROPIC_COMPLETE  # not "max_tokens"
                elif event.type == "message_stop":
                    stopped = complete
        if stopped:
            yield End(tokens_in, tokens_out)
