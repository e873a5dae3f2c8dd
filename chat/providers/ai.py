"""An AI provider as a member of the chain: its circuit breaker, its deadlines, and the
recovery strategies it applies before giving up (retry, simplify). Every request is logged.

Deadlines, per provider and turn: the first token within `first_token` seconds of the first
attempt, the whole reply within `total`. Retries happen only for errors a retry can fix (429,
5xx, connection errors), only before any token was shown, after 0.5 s, 1 s, 2 s (or the
429's Retry-After, if longer), and only while a first token could still arrive in time: the
artist never waits past the first-token deadline for retries of one provider. A timeout or a
broken stream is not retried: the next provider takes over at once.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import anthropic
import httpx2
import openai

from chat.prompts import Prompt, build_prompt, next_question, simplify
from chat.providers.base import ReplyRequest
from chat.providers.streams import End
from chat.turn_log import TurnLog, current_turn_log
from resilience.ai_records import AIRequestRecord, RecoveryStrategy, RequestStatus, sha256_hex
from resilience.breakers import CircuitBreaker, CircuitOpenError

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0)
TRANSIENT_STATUS_CODES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
API_STATUS_ERRORS = (openai.APIStatusError, anthropic.APIStatusError)
# Mid-stream, the SDKs may let their HTTP client's own errors through (httpx2, not httpx).
API_TIMEOUT_ERRORS = (openai.APITimeoutError, anthropic.APITimeoutError, httpx2.TimeoutException)
API_CONNECTION_ERRORS = (openai.APIConnectionError, anthropic.APIConnectionError, httpx2.TransportError)


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


class TextStream(Protocol):
    name: str
    model: str

    def stream(self, prompt: Prompt): ...


@dataclass(frozen=True)
class Deadlines:
    first_token: float
    total: float


def error_code(error: BaseException) -> str:
    if isinstance(error, CircuitOpenError):
        return "refused"
    if isinstance(error, FirstTokenTimeout):
        return "timeout_first_token"
    if isinstance(error, (TotalTimeout, TimeoutError, *API_TIMEOUT_ERRORS)):
        return "timeout_total"
    if isinstance(error, BrokenStream):
        return "broken_stream"
    if isinstance(error, API_STATUS_ERRORS):
        if is_context_length(error):
            return "context_length"
        return f"http_{error.status_code}"
    if isinstance(error, API_CONNECTION_ERRORS):
        return "connection_error"
    if isinstance(error, ValueError):  # a JSON chunk that does not parse, a field of the wrong shape
        return "malformed_response"
    return "error"


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

    def __init__(self, stream: TextStream, breaker: CircuitBreaker, deadlines: Deadlines) -> None:
        self.stream = stream
        self.name = stream.name
        self.breaker = breaker
        self.deadlines = deadlines

    async def write(self, request: ReplyRequest, sink) -> str:
        log = current_turn_log.get() or TurnLog(request.session_id, request.step)
        loop = asyncio.get_running_loop()
        first_deadline = loop.time() + self.deadlines.first_token
        total_deadline = loop.time() + self.deadlines.total
        prompt = build_prompt(request)
        retries, pending_recovery = 0, None
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
                if error_code(error) == "context_length" and (shorter := simplify(prompt)):
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
        async with self.breaker.attempt():
            try:
                async with asyncio.timeout_at(first_deadline) as deadline:
                    async for item in self.stream.stream(prompt):
                        if isinstance(item, End):
                            attempt.end = item
                            continue
                        if attempt.first_token_ms is None:
                            attempt.first_token_ms = attempt.elapsed_ms()
                            deadline.reschedule(total_deadline)
                        attempt.parts.append(item)
                        await sink.token(item)
            except TimeoutError as timeout:
                raise (FirstTokenTimeout if attempt.first_token_ms is None else TotalTimeout)() from timeout
            if attempt.end is None or not attempt.text.strip():
                raise BrokenStream(f"{self.name}: the stream ended without its terminal event")

    def _retry_delay(self, error: BaseException, retries: int, time_left: float) -> float | None:
        transient = (isinstance(error, API_STATUS_ERRORS) and error.status_code in TRANSIENT_STATUS_CODES) or (
            isinstance(error, API_CONNECTION_ERRORS) and not isinstance(error, API_TIMEOUT_ERRORS))
        if not transient or retries >= len(RETRY_DELAYS):
            return None
        delay = max(RETRY_DELAYS[retries], _retry_after(error))
        # Wait only if a first token could still come in time after the wait.
        return delay if delay < time_left else None

    @staticmethod
    async def _with_question(request: ReplyRequest, text: str, sink) -> str:
        """The reply must move the conversation forward: if the model left the next question
        out, it is added (the step advance is ours, not the model's)."""
        question = next_question(request)
        if question and "?" not in text[-200:]:
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
            error_message="" if error is None else f"{type(error).__name__}: {error}"[:500],
            fallback_used=False,  # known at the end of the turn (TurnLog.finished)
            prompt_sha256=sha256_hex(prompt.text),
            prompt_chars=prompt.chars,
            reply_sha256=sha256_hex(reply) if reply else "",
            reply_chars=len(reply),
        ))
        if error is not None:
            logger.info("provider %s: %s (session %s, step %s)", self.name, error_code(error),
                        request.session_id, request.step)
