"""The AI SDKs as plain async streams of text, each ending with `End` only when the provider
sent its terminal event. A stream that stops without it is broken, even though the SDKs end
such streams without raising (DESIGN.md): the caller checks for `End`.

The SDKs make the request (auth, headers, status errors raised as their own exceptions); the
stream's events are read as plain JSON (`with_streaming_response`): building the SDK's typed
model for every chunk cost more than half the CPU of an AI turn (bench/chat_load.py --path ai).
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Event:
    name: str  # the SSE `event:` field ("" when the server sent none, as OpenAI does)
    data: str

    def json(self) -> dict[str, Any]:
        """The event's JSON object; ValueError for anything else (a malformed response)."""
        value = json.loads(self.data)
        if not isinstance(value, dict):
            raise ValueError(f"an event of {type(value).__name__}, not an object")
        return value


async def server_sent_events(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """Server-sent events (the WHATWG format): `field: value` lines, `data` lines joined, a
    blank line ends an event, `:` lines are comments (keep-alives)."""
    name, data = "", []
    async for line in lines:
        if not line:
            if data:
                yield Event(name, "\n".join(data))
            name, data = "", []
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:  # the last event, when the body ended without its blank line
        yield Event(name, "\n".join(data))


def _json_or_text(event: Event) -> Any:
    """An error event's body: its JSON when it has any (the provider's error type is read from
    it), else its text: an error reported in words is still an error, not a malformed reply."""
    try:
        return event.json()
    except ValueError:
        return event.data


def _field(value: Any, *keys: str) -> Any:
    """A nested field of a chunk, None where any level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


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
        request = self.client.chat.completions.with_streaming_response.create(
            model=self.model,
            messages=[{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            temperature=prompt.temperature,
            max_tokens=prompt.max_tokens or self.max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        finished, usage, done = False, None, False
        async with request as response:
            async for event in server_sent_events(response.iter_lines()):
                if done:  # read to the end all the same: the connection goes back to the pool
                    continue
                if event.data.startswith("[DONE]"):
                    done = True
                    continue
                chunk = event.json()
                if error := chunk.get("error"):
                    raise openai.APIError(str(_field(error, "message") or "an error inside the stream"),
                                          response.http_response.request, body=error)
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or ():
                    if text := _field(choice, "delta", "content"):
                        yield str(text)
                    # "length" or "content_filter": a reply cut short is not a reply.
                    finished = finished or _field(choice, "finish_reason") in OPENAI_COMPLETE
        if finished:
            yield End(_field(usage, "prompt_tokens"), _field(usage, "completion_tokens"))


class AnthropicStream(_SDKStream):
    sdk_client = anthropic.AsyncAnthropic

    async def stream(self, prompt: Prompt) -> AsyncIterator[str | End]:
        request = self.client.messages.with_streaming_response.create(
            model=self.model,
            system=prompt.system,
            messages=[{"role": "user", "content": prompt.user}],
            max_tokens=prompt.max_tokens or self.max_tokens,  # this SDK's Messages API takes no temperature
            stream=True,
        )
        stopped, complete, tokens_in, tokens_out = False, False, None, None
        async with request as response:
            async for event in server_sent_events(response.iter_lines()):
                if event.name in ("", "ping"):
                    continue
                if event.name == "error":  # as the SDK raises it: a status error, with the stream's 200
                    raise anthropic.APIStatusError(event.data, response=response.http_response,
                                                   body=_json_or_text(event))
                data = event.json()
                kind = data.get("type")
                if kind == "message_start":
                    tokens_in = _field(data, "message", "usage", "input_tokens")
                elif kind == "content_block_delta" and _field(data, "delta", "type") == "text_delta":
                    if text := _field(data, "delta", "text"):
                        yield str(text)
                elif kind == "message_delta":
                    tokens_out = _field(data, "usage", "output_tokens")
                    complete = _field(data, "delta", "stop_reason") in ANTHROPIC_COMPLETE  # not "max_tokens"
                elif kind == "message_stop":
                    stopped = complete
        if stopped:
            yield End(tokens_in, tokens_out)
