"""The fake LLM server's fault model: what can go wrong with one request, and which faults are armed.

A `Fault` is one `kind` plus the parameters that kind takes. Faults arrive as JSON (the control
API, the `X-Fake-Fault` header); `Fault.from_dict` rejects unknown kinds and parameters so a typo
fails loudly instead of silently serving a normal reply.

The `FaultRegistry` holds the faults armed through the control API, per target ("openai",
"local", "anthropic"… or "*" for all of them), each optionally limited to the next `count`
requests or to `duration` seconds. It knows nothing about HTTP.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ALL_TARGETS = "*"


class FaultKind(StrEnum):
    NONE = "none"  # answer normally (with `reply`: a chosen text; in a header: overrides an armed fault)
    LATENCY = "latency"  # wait `seconds` before the response starts
    FIRST_TOKEN_DELAY = "first_token_delay"  # send the headers, then wait `seconds` before the first token
    TOKEN_DELAY = "token_delay"  # wait `seconds` between tokens
    HANG = "hang"  # accept the request and never answer, until the client goes away
    STATUS = "status"  # an HTTP error `code`, with an optional `retry_after` (seconds)
    CONTEXT_LENGTH = "context_length"  # 400: the prompt is longer than `limit` tokens
    RESET = "reset"  # close the connection without any HTTP response
    CUT_AFTER = "cut_after"  # stream `tokens` tokens, then end the stream without its terminal event
    #                          (with `abort`: drop the connection instead of ending the body cleanly)
    MALFORMED = "malformed"  # stream a couple of tokens, then an event whose data is not JSON
    EMPTY = "empty"  # a 200 event stream with no events at all
    NOT_SSE = "not_sse"  # a 200 text/plain "ok" where an event stream was asked for
    TRUNCATED = "truncated"  # stream `tokens` tokens, then end as cut by the token limit
    #                          (OpenAI finish_reason "length", Anthropic stop_reason "max_tokens")
    STREAM_ERROR = "stream_error"  # stream `tokens` tokens, then an error event inside the 200 stream
    #                                (Anthropic: an `error` event, overloaded_error; OpenAI: an error chunk)
    STALL_AFTER = "stall_after"  # stream `tokens` tokens, then nothing more (connection kept open),
    #                              until the client goes away


# The parameters each kind takes (all kinds also take `reply`). Required ones have no default.
PARAMETERS: dict[FaultKind, frozenset[str]] = {
    FaultKind.NONE: frozenset(),
    FaultKind.LATENCY: frozenset({"seconds"}),
    FaultKind.FIRST_TOKEN_DELAY: frozenset({"seconds"}),
    FaultKind.TOKEN_DELAY: frozenset({"seconds"}),
    FaultKind.HANG: frozenset(),
    FaultKind.STATUS: frozenset({"code", "retry_after", "message"}),
    FaultKind.CONTEXT_LENGTH: frozenset({"limit"}),
    FaultKind.RESET: frozenset(),
    FaultKind.CUT_AFTER: frozenset({"tokens", "abort"}),
    FaultKind.MALFORMED: frozenset(),
    FaultKind.EMPTY: frozenset(),
    FaultKind.NOT_SSE: frozenset(),
    FaultKind.TRUNCATED: frozenset({"tokens"}),
    FaultKind.STREAM_ERROR: frozenset({"tokens"}),
    FaultKind.STALL_AFTER: frozenset({"tokens"}),
}
REQUIRED: dict[FaultKind, frozenset[str]] = {
    FaultKind.LATENCY: frozenset({"seconds"}),
    FaultKind.FIRST_TOKEN_DELAY: frozenset({"seconds"}),
    FaultKind.TOKEN_DELAY: frozenset({"seconds"}),
    FaultKind.STATUS: frozenset({"code"}),
    FaultKind.CUT_AFTER: frozenset({"tokens"}),
    FaultKind.STALL_AFTER: frozenset({"tokens"}),
}
DEFAULT_CONTEXT_LIMIT = 8192


class FaultError(ValueError):
    """A fault description that cannot be played: unknown kind, unknown or invalid parameter."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    seconds: float = 0.0  # latency, first_token_delay, token_delay
    code: int = 500  # status
    retry_after: float | None = None  # status: sent as the Retry-After header
    message: str = ""  # status: the error message (a default per code when empty)
    limit: int = DEFAULT_CONTEXT_LIMIT  # context_length: the model's maximum, in tokens
    tokens: int = 0  # cut_after, truncated, stream_error, stall_after: how many tokens come before the end
    abort: bool = False  # cut_after: drop the connection rather than end the stream cleanly
    reply: str | None = None  # any kind: the reply text instead of the deterministic one

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        if not isinstance(data, Mapping):
            raise FaultError("a fault is a JSON object")
        try:
            kind = FaultKind(data.get("kind"))
        except ValueError:
            known = ", ".join(kind.value for kind in FaultKind)
            raise FaultError(f"unknown fault kind {data.get('kind')!r}; known kinds: {known}") from None
        given = set(data) - {"kind"}
        unknown = given - PARAMETERS[kind] - {"reply"}
        if unknown:
            raise FaultError(f"fault {kind.value!r} takes no parameter(s) {', '.join(sorted(unknown))}")
        missing = REQUIRED.get(kind, frozenset()) - given
        if missing:
            raise FaultError(f"fault {kind.value!r} needs {', '.join(sorted(missing))}")
        fault = cls(
            kind=kind,
            seconds=_number(data, "seconds", 0.0),
            code=int(_number(data, "code", 500)),
            retry_after=_number(data, "retry_after", None),
            message=str(data.get("message", "")),
            limit=int(_number(data, "limit", DEFAULT_CONTEXT_LIMIT)),
            tokens=int(_number(data, "tokens", 0)),
            abort=_flag(data, "abort"),
            reply=None if data.get("reply") is None else str(data["reply"]),
        )
        fault._check()
        return fault

    def _check(self) -> None:
        if self.seconds < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise FaultError("seconds and retry_after cannot be negative")
        if self.kind is FaultKind.STATUS and not 400 <= self.code <= 599:
            raise FaultError(f"status code {self.code} is not an HTTP error (400-599)")
        if self.tokens < 0 or self.limit < 1:
            raise FaultError("tokens cannot be negative and limit must be positive")

    def to_dict(self) -> dict[str, Any]:
        """Only the parameters this kind takes, as `from_dict` reads them."""
        data: dict[str, Any] = {"kind": self.kind.value}
        for name in sorted(PARAMETERS[self.kind]):
            data[name] = getattr(self, name)
        if self.reply is not None:
            data["reply"] = self.reply
        return data


def _number(data: Mapping[str, Any], name: str, default: Any) -> Any:
    value = data.get(name, default)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{name} must be a number, not {value!r}")
    return value


def _flag(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise FaultError(f"{name} must be true or false, not {value!r}")
    return value


@dataclass(frozen=True)
class Injection:
    """A request to arm a fault: the control API's POST body."""

    target: str
    fault: Fault
    count: int | None = None  # the next `count` requests to the target, then it is removed
    duration: float | None = None  # seconds from now, then it is removed

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Injection:
        if not isinstance(data, Mapping):
            raise FaultError("an injection is a JSON object")
        target = data.get("target")
        if not isinstance(target, str) or not target:
            raise FaultError('an injection needs a "target" (a provider prefix such as "openai", or "*")')
        count = _number(data, "count", None)
        duration = _number(data, "duration", None)
        if count is not None and (count < 1 or count != int(count)):
            raise FaultError("count must be a positive whole number")
        if duration is not None and duration <= 0:
            raise FaultError("duration must be positive")
        fault = Fault.from_dict({name: value for name, value in data.items()
                                 if name not in {"target", "count", "duration"}})
        return cls(target=target, fault=fault, count=None if count is None else int(count), duration=duration)


@dataclass
class ArmedFault:
    id: int
    target: str
    fault: Fault
    remaining: int | None  # requests left; None: no limit
    expires_at: float | None  # on the registry's clock; None: no limit

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "target": self.target,
            **self.fault.to_dict(),
            "remaining": self.remaining,
            "expires_in": None if self.expires_at is None else max(0.0, self.expires_at - now),
        }


class FaultRegistry:
    """The armed faults. For a request to a target, the newest live fault armed for that exact
    target wins; failing that, the newest armed for "*". Taking a fault uses up one of its count.

    Safe to share between threads. `clock` returns seconds (monotonic); tests may pass their own.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._armed: list[ArmedFault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def arm(self, injection: Injection) -> ArmedFault:
        now = self._clock()
        armed = ArmedFault(
            id=next(self._ids),
            target=injection.target,
            fault=injection.fault,
            remaining=injection.count,
            expires_at=None if injection.duration is None else now + injection.duration,
        )
        with self._lock:
            self._armed.append(armed)
        return armed

    def take(self, target: str) -> Fault | None:
        """The fault to play on one request to `target`, if any; its count goes down by one."""
        with self._lock:
            self._drop_expired()
            for wanted in (target, ALL_TARGETS):
                for armed in reversed(self._armed):
                    if armed.target == wanted:
                        if armed.remaining is not None:
                            armed.remaining -= 1
                            if armed.remaining == 0:
                                self._armed.remove(armed)
                        return armed.fault
        return None

    def armed(self) -> list[ArmedFault]:
        with self._lock:
            self._drop_expired()
            return list(self._armed)

    def disarm(self, target: str | None = None) -> int:
        """Remove the faults armed for `target` (exactly: "*" removes only "*" faults), or all."""
        with self._lock:
            kept = [armed for armed in self._armed if target is not None and armed.target != target]
            removed = len(self._armed) - len(kept)
            self._armed = kept
        return removed

    def now(self) -> float:
        return self._clock()

    def _drop_expired(self) -> None:
        now = self._clock()
        self._armed = [armed for armed in self._armed if armed.expires_at is None or armed.expires_at > now]
