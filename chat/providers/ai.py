"""An AI provider as a member of the chain: its circuit breaker, its deadlines, and the
recovery strategies it applies before giving up (retry, simplify). Every request is logged.

Deadlines, per provider and turn: the first token within `first_token` seconds of the first
attempt, each next one within `idle` seconds of the last (a stream that stalls mid-answer is
given up as a cut one is, not watched frozen until `total`), the whole reply within `total`. Retries happen only for errors a retry can fix (429,
5xx, connection errors), only before any token was shown, after 0.5 s, 1 s, 2 s (or the
429's Retry-After, if longer), and only while a first token could still arrive in time: the
artist never waits past the first-token deadline for retries of one provider. A timeout or a
broken stream is not retried: the next provider takes over at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import anthropic
import anyio
import httpx2
import openai

from chat.prompts import Prompt, build_prompt, next_question, question_asked, simplify
from chat.providers.base import ReplyRequest
from chat.providers.streams import End
from chat.turn_log import TurnLog, current_turn_log
from resilience.ai_records import AIRequestRecord, RecoveryStrategy, RequestStatus, sha256_hex
from resilience.breakers import CircuitOpenError, get_breaker
from resilience.chaos import ChaosFault, chaos_active_async

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0)
# A retry is worth it only if, after its wait, the provider still has this long for a first token.
MIN_FIRST_TOKEN_WINDOW = 0.5
TRANSIENT_CODES = frozenset({"http_408", "http_409", "http_429", "http_500", "http_502", "http_503", "http_504",
                             "http_529", "connection_error", "stream_error"})
API_STATUS_ERRORS = (openai.APIStatusError, anthropic.APIStatusError)
# Mid-stream, the SDKs may let their HTTP client's own errors through (httpx2, not httpx).
API_TIMEOUT_ERRORS = (openai.APITimeoutError, anthropic.APITimeoutError, httpx2.TimeoutException)
API_CONNECTION_ERRORS = (openai.APIConnectionError, anthropic.APIConnectionError, httpx2.RequestError,
                         ssl.SSLError, anyio.EndOfStream)
STREAM_ERRORS = (openai.APIError, anthropic.APIError)  # an error event inside a 200 stream
# An error event inside a 200 stream names its kind instead of a status.
IN_STREAM_ERROR_STATUS = {"overloaded_error": 529, "api_error": 500, "rate_limit_error": 429,
                          "server_error": 500, "timeout_error": 504}


class ProviderFailed(Exception):
    """The provider could not write this reply; `code` says why (as in the request log)."""

    def __init__(self, provider: str, code: str) -> None:
        super().__init__(f"{provider}: {code}")
        self.provider = provider
        self.code = code


class BrokenStream(Exception):
    """The stream ended without its terminal event (or with nothing at all)."""


class FirstTokenTimeout(TimeoutError):
    pass


class TotalTimeout(TimeoutError):
    pass


class StreamStalled(TimeoutError):
    """No token for `idle` seconds after the reply had started."""


class TextStream(Protocol):
    name: str
    model: str

    def stream(self, prompt: Prompt): ...


@dataclass(frozen=True)
class Deadlines:
    first_token: float
    total: float
    idle: float


def error_code(error: BaseException) -> str:
    if isinstance(error, CircuitOpenError):
        return "refused"
    if isinstance(error, ChaosFault):
        return "chaos_drill"
    if isinstance(error, FirstTokenTimeout):
        return "timeout_first_token"
    if isinstance(error, StreamStalled):
        return "timeout_stream_idle"
    if isinstance(error, (TotalTimeout, TimeoutError, *API_TIMEOUT_ERRORS)):
        return "timeout_total"
    if isinstance(error, BrokenStream):
        return "broken_stream"
    if isinstance(error, API_STATUS_ERRORS):
        if is_context_length(error):
            return "context_length"
        status = error.status_code
        if status == 200:
            status = IN_STREAM_ERROR_STATUS.get(_error_type(error), 500)
        return f"http_{status}"
    if isinstance(error, API_CONNECTION_ERRORS):
        return "connection_error"
    if isinstance(error, STREAM_ERRORS):
        return "stream_error"
    if isinstance(error, ValueError):  # a JSON chunk that does not parse, a field of the wrong shape
        return "malformed_response"
    return "error"


def _error_type(error: BaseException) -> str:
    """The provider's own name for the error (`overloaded_error`, `rate_limit_exceeded`…)."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("type") or inner.get("code") or "")
    return str(getattr(error, "code", "") or "")


def error_summary(error: BaseException) -> str:
    """What the log keeps of an error: its class, status and the provider's error type. No
    message text: providers may echo the request (and so the artist's words) in it."""
    parts = [type(error).__name__]
    if status := getattr(error, "status_code", None):
        parts.append(f"HTTP {status}")
    if kind := _error_type(error):
        parts.append(kind)
    return " ".join(parts)


def is_context_length(error: BaseException) -> bool:
    if getattr(error, "status_code", None) not in (400, 413):
        return False
    text = f"{getattr(error, 'code', '')} {error}".lower()
    return "context_length" in text or "context length" in text or "too long" in text


def _status(error: BaseException) -> RequestStatus:
    code = error_code(error)
    if code == "refused":
        return RequestStatus.REFUSED
    if code.startswith("timeout"):
        return RequestStatus.TIMEOUT
    if code == "broken_stream":
        return RequestStatus.BROKEN_STREAM
    return RequestStatus.ERROR


def _retry_after(error: BaseException) -> float:
    response = getattr(error, "response", None)
    try:
        return float(response.headers.get("retry-after", 0)) if response is not None else 0.0
    except ValueError:  # an HTTP date: not worth waiting for within a chat turn
        return float("inf")


class _Attempt:
    """One request to the provider: streamed to the sink, measured, and logged."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first_token_ms: int | None = None
        self.parts: list[str] = []
        self.end: End | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


class AIMember:
    cacheable = True  # its replies may serve later turns when every provider is down

    def __init__(self, stream: TextStream, deadlines: Deadlines) -> None:
        self.stream = stream
        self.name = stream.name
        self.deadlines = deadlines

    async def write(self, request: ReplyRequest, sink) -> str:
        # Outside a chain (a benchmark, a test) the records have nowhere to go: a throwaway log.
        log = current_turn_log.get() or TurnLog(request.session_id, request.step)
        loop = asyncio.get_running_loop()
        first_deadline = loop.time() + self.deadlines.first_token
        total_deadline = loop.time() + self.deadlines.total
        prompt = build_prompt(request)
        retries, pending_recovery, simplified = 0, None, False
        while True:
            attempt = _Attempt()
            try:
                await self._stream(prompt, attempt, sink, first_deadline, total_deadline)
            except Exception as error:
                self._log(log, request, prompt, attempt, retries, error)
                if pending_recovery is not None:
                    log.recovery_end(pending_recovery, False)
                if attempt.parts:  # the artist saw part of it: the chain replaces it cleanly
                    raise ProviderFailed(self.name, error_code(error)) from error
                if error_code(error) == "context_length" and not simplified and (shorter := simplify(prompt)):
                    simplified = True
                    pending_recovery = log.recovery_start(
                        RecoveryStrategy.SIMPLIFY, f"{self.name}: prompt {prompt.chars} -> {shorter.chars} chars, "
                                                   f"temperature {shorter.temperature}")
                    prompt = shorter
                    continue
                delay = self._retry_delay(error, retries, first_deadline - loop.time())
                if delay is None:
                    raise ProviderFailed(self.name, error_code(error)) from error
                pending_recovery = log.recovery_start(
                    RecoveryStrategy.RETRY, f"retry {self.name} after {delay:g} s ({error_code(error)})")
                await asyncio.sleep(delay)
                retries += 1
                continue
            self._log(log, request, prompt, attempt, retries, None)
            if pending_recovery is not None:
                log.recovery_end(pending_recovery, True)
            return await self._with_question(request, attempt.text, sink)

    async def _stream(self, prompt: Prompt, attempt: _Attempt, sink, first_deadline: float,
                      total_deadline: float) -> None:
        # The chain always serves something else when this fails: a fallback is served.
        loop = asyncio.get_running_loop()
        async with get_breaker(self.name).attempt(fallback_served=True):
            # A staff chaos drill makes this provider fail, as an outage would (and counts so).
            if await chaos_active_async(self.name):
                raise ChaosFault(self.name)
            try:
                async with (asyncio.timeout_at(first_deadline) as deadline,
                            contextlib.aclosing(self.stream.stream(prompt)) as items):
                    async for item in items:
                        if isinstance(item, End):
                            attempt.end = item
                            continue
                        if attempt.first_token_ms is None:
                            attempt.first_token_ms = attempt.elapsed_ms()
                        attempt.parts.append(item)
                        await sink.token(item)
                        # The next token within `idle` (of the provider's time, not the page's),
                        # the reply within `total`.
                        deadline.reschedule(min(loop.time() + self.deadlines.idle, total_deadline))
            except TimeoutError as timeout:
                if attempt.first_token_ms is None:
                    raise FirstTokenTimeout() from timeout
                raise (StreamStalled if deadline.when() < total_deadline else TotalTimeout)() from timeout
            if attempt.end is None or not attempt.text.strip():
                raise BrokenStream(f"{self.name}: the stream ended without its terminal event")

    def _retry_delay(self, error: BaseException, retries: int, time_left: float) -> float | None:
        if error_code(error) not in TRANSIENT_CODES or retries >= len(RETRY_DELAYS):
            return None
        delay = max(RETRY_DELAYS[retries], _retry_after(error))
        # Wait only if a first token could still come in time after the wait.
        return delay if delay + MIN_FIRST_TOKEN_WINDOW <= time_left else None

    @staticmethod
    async def _with_question(request: ReplyRequest, text: str, sink) -> str:
        """The reply must move the conversation forward: if the model left the next question
        out, it is added (the step advance is ours, not the model's)."""
        question = next_question(request)
        if question and not question_asked(text, question):
            addition = f"\n\n{question}"
            await sink.token(addition)
            text += addition
        return text.strip()

    def _log(self, log: TurnLog, request: ReplyRequest, prompt: Prompt, attempt: _Attempt, retries: int,
             error: BaseException | None) -> None:
        reply = attempt.text
        log.request(AIRequestRecord(
            request_id=uuid.uuid4().hex,
            turn_id=log.turn_id,
            session_id=request.session_id,
            step=request.step,
            provider=self.name,
            model=self.stream.model,
            status=RequestStatus.SUCCESS if error is None else _status(error),
            latency_ms=attempt.elapsed_ms(),
            first_token_ms=attempt.first_token_ms,
            tokens_in=attempt.end.tokens_in if attempt.end else None,
            tokens_out=attempt.end.tokens_out if attempt.end else None,
            retry_count=retries,
            error_code="" if error is None else error_code(error),
            error_message="" if error is None else error_summary(error),
            fallback_used=False,  # known at the end of the turn (TurnLog.finished)
            prompt_sha256=sha256_hex(prompt.text),
            prompt_chars=prompt.chars,
            reply_sha256=sha256_hex(reply) if reply else "",
            reply_chars=len(reply),
        ))
        if error is not None:
            logger.info("provider %s: %s (session %s, step %s)", self.name, error_code(error),
                        request.session_id, request.step)
