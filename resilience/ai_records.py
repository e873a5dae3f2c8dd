"""What the provider chain reports about each AI request, for the AI request log.

Plain values only: the prompt and the reply are represented by their SHA-256 and length, never
their text, so the log holds no artist content.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum


class RequestStatus(StrEnum):
    SUCCESS = "success"
    ERROR = "error"  # the provider answered with an error (HTTP status, bad request…)
    TIMEOUT = "timeout"  # first-token deadline or total timeout missed
    BROKEN_STREAM = "broken_stream"  # the stream ended without its terminal event
    REFUSED = "refused"  # the provider's circuit breaker refused the call: not sent


class RecoveryStrategy(StrEnum):
    RETRY = "retry"  # the same provider again after a backoff (transient errors, 429)
    SIMPLIFY = "simplify"  # a shorter prompt and a lower temperature (context-length errors)
    FALLBACK = "fallback"  # the next provider in the chain
    CACHE = "cache"  # a previous successful reply to the same step and equivalent input
    TEMPLATE = "template"  # the built-in responder, the last resort


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AIRequestRecord:
    """One request to one provider (each retry is a request of its own)."""

    request_id: str  # unique per request (uuid4 hex)
    turn_id: str  # the chat turn it belongs to: several requests share one
    session_id: str
    step: int | None
    provider: str
    model: str
    status: RequestStatus
    latency_ms: int
    first_token_ms: int | None
    tokens_in: int | None
    tokens_out: int | None
    retry_count: int  # how many retries came before this request in the turn, for this provider
    error_code: str  # e.g. "http_429", "http_500", "timeout_first_token", "broken_stream", "context_length"
    error_message: str  # the SDK's message, truncated to 500 characters; never the prompt
    fallback_used: bool  # the turn's reply did not come from the first provider
    prompt_sha256: str
    prompt_chars: int
    reply_sha256: str
    reply_chars: int


@dataclass(frozen=True)
class RecoveryRecord:
    """One recovery step the chain took during a turn."""

    turn_id: str
    strategy: RecoveryStrategy
    step: int  # 1, 2, 3… in the order taken within the turn
    action: str  # what was done, e.g. "retry openai after 0.5 s", "openai -> anthropic"
    success: bool
    duration_ms: int
