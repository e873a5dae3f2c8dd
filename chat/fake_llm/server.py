"""A fake LLM server for development, demos and tests: the OpenAI Chat Completions API and the
Anthropic Messages API, streaming and not, with faults injected on demand.

Every API route sits under a target prefix, so one server plays several providers:
`POST /{target}/v1/chat/completions` (OpenAI-compatible: "openai", "local") and
`POST /{target}/v1/messages` (Anthropic: "anthropic"). Point an SDK's base URL at
`{base_url}/openai/v1` or `{base_url}/anthropic`.

Faults (see `faults.py`) are armed through the control API under `/_fake/`, or sent with one
request in an `X-Fake-Fault` header holding the fault as JSON; the header wins.

    POST   /_fake/faults            {"target": "openai", "kind": "status", "code": 429, "count": 1}
    GET    /_fake/faults
    DELETE /_fake/faults[?target=openai]
    GET    /_fake/requests[?target=openai]   the API requests received, oldest first
    DELETE /_fake/requests
    GET    /_fake/health
"""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import string
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Protocol

from aiohttp import web

from chat.fake_llm.faults import Fault, FaultError, FaultKind, FaultRegistry, Injection

# The deterministic reply.
REPLY = "¡Gracias! Lo tengo anotado."
NEXT_QUESTION_MARKER = "Siguiente pregunta:"
CHARS_PER_INPUT_TOKEN = 4

FAULT_HEADER = "X-Fake-Fault"
MALFORMED_AFTER_TOKENS = 2  # the malformed fault streams this many tokens before the bad event
HANG_POLL_SECONDS = 0.05  # how often a hanging request checks whether its client is gone
REQUEST_LOG_SIZE = 1000  # the requests log keeps the newest ones
NO_FAULT = Fault(kind=FaultKind.NONE)


# --- The conversation: what the fake says and how much it counts ---------------------------------


@dataclass(frozen=True)
class Exchange:
    """One API request as the fake reads it, and the ids of its answer."""

    target: str
    model: str
    stream: bool
    include_usage: bool  # OpenAI: stream_options.include_usage
    prompt_chars: int  # every message's text (and Anthropic's system prompt)
    last_user_text: str
    response_id: str
    request_id: str
    created: int

    @property
    def input_tokens(self) -> int:
        return max(1, self.prompt_chars // CHARS_PER_INPUT_TOKEN)


# Asked for the two bios (the product's bio prompt ends with both labels): both, of fitting length.
BIO_REPLIES = {
    ("BREVE:", "LARGA:"): ("Biografía breve de prueba escrita por la IA falsa. " * 4,
                           "Biografía larga de prueba escrita por la IA falsa, con más detalle. " * 12),
    ("SHORT:", "LONG:"): ("A short test bio written by the fake AI. " * 5,
                          "A long test bio written by the fake AI, with more detail. " * 14),
}


def reply_text(last_user_text: str) -> str:
    """The deterministic reply: an acknowledgement, then the next question when the prompt has
    one; the two bios when asked for them."""
    for (short_label, long_label), (short, long) in BIO_REPLIES.items():
        if short_label in last_user_text and long_label in last_user_text:
            return f"{short_label} {short.strip()}\n{long_label} {long.strip()}"
    for line in last_user_text.splitlines():
        stripped = line.strip()
        if stripped.startswith(NEXT_QUESTION_MARKER):
            return f"{REPLY} {stripped.removeprefix(NEXT_QUESTION_MARKER).strip()}"
    return REPLY


def reply_tokens(text: str) -> list[str]:
    """The reply in word pieces ("word "); joined back they give the text exactly."""
    return re.findall(r"\s*\S+\s*", text)


def content_text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, Mapping))
    return ""


def _random_id(prefix: str, length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


class BadRequest(Exception):
    """The request cannot be answered as the real API would: missing or invalid fields."""


def _read_messages(body: Any, *, system: bool) -> tuple[int, str]:
    """(characters of every message's text, the last user message's text)."""
    if not isinstance(body, Mapping):
        raise BadRequest("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(message, Mapping) for message in messages):
        raise BadRequest("messages: a list of message objects is required")
    texts = [content_text(message.get("content")) for message in messages]
    if system:
        texts.append(content_text(body.get("system")))
    last_user = next((content_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    return sum(len(text) for text in texts), last_user


# --- The two API dialects: what goes on the wire ----------------------------------------------------


def sse(data: Mapping[str, Any] | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"event: {event}\n" if event else "").encode() + f"data: {payload}\n\n".encode()


class Dialect(Protocol):
    """How one API shapes requests, replies, stream events and errors."""

    name: str
    request_id_header: str

    def read(self, target: str, body: Any) -> Exchange: ...

    def completion(self, exchange: Exchange, tokens: list[str]) -> dict[str, Any]: ...

    def opening(self, exchange: Exchange) -> list[bytes]: ...

    def token(self, exchange: Exchange, index: int, token: str) -> bytes: ...

    def closing(self, exchange: Exchange, tokens: list[str], *, truncated: bool = False) -> list[bytes]: ...

    def stream_error(self) -> bytes: ...

    def malformed(self) -> bytes: ...

    def error(self, status: int, message: str, request_id: str) -> dict[str, Any]: ...

    def context_length_error(self, exchange: Exchange, limit: int) -> dict[str, Any]: ...


# Default error messages per status, close to the real APIs' wording.
OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {  # status -> (type, code, message)
    400: ("invalid_request_error", None, "Invalid request (fake)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided (fake)."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Access denied (fake)."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist (fake)."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests (fake). Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request (fake)."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later (fake)."),
}
ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {  # status -> (error type, message)
    400: ("invalid_request_error", "Invalid request (fake)."),
    401: ("authentication_error", "invalid x-api-key (fake)"),
    402: ("billing_error", "Billing problem (fake)."),
    403: ("permission_error", "Your API key does not have permission (fake)."),
    404: ("not_found_error", "Not found (fake)."),
    413: ("request_too_large", "Request exceeds the maximum allowed size (fake)."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit (fake)."),
    500: ("api_error", "Internal server error (fake)."),
    504: ("timeout_error", "Request timed out (fake)."),
    529: ("overloaded_error", "Overloaded (fake)."),
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class OpenAIDialect:
    name = "openai"
    request_id_header = "x-request-id"

    def read(self, target: str, body: Any) -> Exchange:
        prompt_chars, last_user = _read_messages(body, system=False)
        stream_options = body.get("stream_options") or {}
        return Exchange(
            target=target,
            model=str(body.get("model", "")),
            stream=bool(body.get("stream")),
            include_usage=bool(isinstance(stream_options, Mapping) and stream_options.get("include_usage")),
            prompt_chars=prompt_chars,
            last_user_text=last_user,
            response_id=_random_id("chatcmpl-", 29),
            request_id="req_" + secrets.token_hex(16),
            created=int(time.time()),
        )

    def _usage(self, exchange: Exchange, tokens: list[str]) -> dict[str, int]:
        return {
            "prompt_tokens": exchange.input_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": exchange.input_tokens + len(tokens),
        }

    def completion(self, exchange: Exchange, tokens: list[str]) -> dict[str, Any]:
        return {
            "id": exchange.response_id,
            "object": "chat.completion",
            "created": exchange.created,
            "model": exchange.model,
            "system_fingerprint": "fp_fake",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }],
            "usage": self._usage(exchange, tokens),
        }

    def _chunk(self, exchange: Exchange, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {
            "id": exchange.response_id,
            "object": "chat.completion.chunk",
            "created": exchange.created,
            "model": exchange.model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
            **({"usage": None} if exchange.include_usage else {}),
            **extra,
        }
        return sse(chunk)

    def opening(self, exchange: Exchange) -> list[bytes]:
        return []  # the first token's chunk carries the role

    def token(self, exchange: Exchange, index: int, token: str) -> bytes:
        delta = {"role": "assistant", "content": token} if index == 0 else {"content": token}
        return self._chunk(exchange, [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}])

    def closing(self, exchange: Exchange, tokens: list[str], *, truncated: bool = False) -> list[bytes]:
        delta = {} if tokens else {"role": "assistant", "content": ""}
        reason = "length" if truncated else "stop"
        events = [self._chunk(exchange, [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}])]
        if exchange.include_usage:
            events.append(self._chunk(exchange, [], usage=self._usage(exchange, tokens)))
        events.append(sse("[DONE]"))
        return events

    def malformed(self) -> bytes:
        return b"data: {not json\n\n"

    def stream_error(self) -> bytes:
        return sse({"error": {"message": "The server had an error while processing your request.",
                              "type": "server_error", "param": None, "code": None}})

    def error(self, status: int, message: str, request_id: str) -> dict[str, Any]:
        kind, code, default = OPENAI_ERRORS.get(
            status, ("invalid_request_error" if status < 500 else "server_error", None, _phrase(status))
        )
        return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}

    def context_length_error(self, exchange: Exchange, limit: int) -> dict[str, Any]:
        tokens = max(exchange.input_tokens, limit + 1)
        message = (
            f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
            f"{tokens} tokens. Please reduce the length of the messages."
        )
        return {"error": {"message": message, "type": "invalid_request_error", "param": "messages",
                          "code": "context_length_exceeded"}}


class AnthropicDialect:
    name = "anthropic"
    request_id_header = "request-id"

    def read(self, target: str, body: Any) -> Exchange:
        prompt_chars, last_user = _read_messages(body, system=True)
        return Exchange(
            target=target,
            model=str(body.get("model", "")),
            stream=bool(body.get("stream")),
            include_usage=False,  # its stream always reports usage
            prompt_chars=prompt_chars,
            last_user_text=last_user,
            response_id=_random_id("msg_01", 22),
            request_id=_random_id("req_011C", 20),
            created=int(time.time()),
        )

    def completion(self, exchange: Exchange, tokens: list[str]) -> dict[str, Any]:
        return {
            "id": exchange.response_id,
            "type": "message",
            "role": "assistant",
            "model": exchange.model,
            "content": [{"type": "text", "text": "".join(tokens)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": exchange.input_tokens, "output_tokens": len(tokens)},
        }

    def opening(self, exchange: Exchange) -> list[bytes]:
        message = {
            **self.completion(exchange, []),
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": exchange.input_tokens, "output_tokens": 1},
        }
        return [
            sse({"type": "message_start", "message": message}, "message_start"),
            sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                "content_block_start"),
            sse({"type": "ping"}, "ping"),
        ]

    def token(self, exchange: Exchange, index: int, token: str) -> bytes:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token}}
        return sse(delta, "content_block_delta")

    def closing(self, exchange: Exchange, tokens: list[str], *, truncated: bool = False) -> list[bytes]:
        reason = "max_tokens" if truncated else "end_turn"
        return [
            sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            sse({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": None},
                 "usage": {"output_tokens": len(tokens)}}, "message_delta"),
            sse({"type": "message_stop"}, "message_stop"),
        ]

    def malformed(self) -> bytes:
        # With its event name: the SDK skips events that have none, so a bare data line is ignored.
        return b"event: content_block_delta\ndata: {not json\n\n"

    def stream_error(self) -> bytes:
        return sse({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error")

    def error(self, status: int, message: str, request_id: str) -> dict[str, Any]:
        kind, default = ANTHROPIC_ERRORS.get(status, ("invalid_request_error" if status < 500 else "api_error",
                                                      _phrase(status)))
        return {"type": "error", "error": {"type": kind, "message": message or default}, "request_id": request_id}

    def context_length_error(self, exchange: Exchange, limit: int) -> dict[str, Any]:
        tokens = max(exchange.input_tokens, limit + 1)
        message = f"prompt is too long: {tokens} tokens > {limit} maximum"
        return self.error(400, message, exchange.request_id)


OPENAI = OpenAIDialect()
ANTHROPIC = AnthropicDialect()


# --- Answering an API request: the fault played, the requests log -----------------------------------


@dataclass(frozen=True)
class ReceivedRequest:
    """One API request, as `GET /_fake/requests` lists it."""

    target: str
    api: str  # "openai" or "anthropic": the dialect the route speaks
    path: str
    model: str | None
    stream: bool | None
    time: float  # Unix time it arrived
    fault: dict[str, Any] | None  # the fault played, None for a normal reply
    fault_source: str | None  # "header" or "armed"


REGISTRY = web.AppKey("registry", FaultRegistry)
RECEIVED = web.AppKey("received", deque)
STOPPING = web.AppKey("stopping", asyncio.Event)


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _hang(request: web.Request) -> None:
    """Wait until the client disconnects or the server stops, without blocking anything else."""
    stopping = request.app[STOPPING]
    while not _client_gone(request) and not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), HANG_POLL_SECONDS)
        except TimeoutError:
            pass


def _reset(request: web.Request) -> web.StreamResponse:
    """Close the connection at once, with no HTTP response (or no end to the one begun)."""
    if request.transport is not None:
        request.transport.abort()
    # aiohttp needs a response from the handler; this one has nowhere to go and is dropped.
    return web.Response(status=HTTPStatus.NO_CONTENT)


def _error_response(dialect: Dialect, request_id: str, status: int, body: Mapping[str, Any],
                    retry_after: float | None = None) -> web.Response:
    headers = {dialect.request_id_header: request_id}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    return web.json_response(body, status=status, headers=headers)


def _status_error(dialect: Dialect, exchange: Exchange, fault: Fault) -> web.Response:
    body = dialect.error(fault.code, fault.message, exchange.request_id)
    return _error_response(dialect, exchange.request_id, fault.code, body, fault.retry_after)


async def _complete(dialect: Dialect, exchange: Exchange, fault: Fault, tokens: list[str]) -> web.Response:
    """A non-streaming answer. The stream faults give a broken 200 body instead of a broken stream."""
    kind = fault.kind
    headers = {dialect.request_id_header: exchange.request_id}
    if kind is FaultKind.NOT_SSE:
        return web.Response(text="ok", content_type="text/plain", headers=headers)
    if kind is FaultKind.TOKEN_DELAY:
        await asyncio.sleep(fault.seconds * len(tokens))
    if kind is FaultKind.FIRST_TOKEN_DELAY:  # no tokens to stream: the whole body is the first token
        await asyncio.sleep(fault.seconds)
    body = json.dumps(dialect.completion(exchange, tokens), ensure_ascii=False)
    broken = {FaultKind.EMPTY: "", FaultKind.MALFORMED: "{not json", FaultKind.CUT_AFTER: body[: len(body) // 2]}
    return web.Response(text=broken.get(kind, body), content_type="application/json", headers=headers)


async def _stream(request: web.Request, dialect: Dialect, exchange: Exchange, fault: Fault,
                  tokens: list[str]) -> web.StreamResponse:
    kind = fault.kind
    headers = {dialect.request_id_header: exchange.request_id, "Cache-Control": "no-cache"}
    if kind is FaultKind.NOT_SSE:
        return web.Response(text="ok", content_type="text/plain", headers=headers)
    response = web.StreamResponse(headers={**headers, "Content-Type": "text/event-stream; charset=utf-8"})
    await response.prepare(request)
    try:
        if kind is FaultKind.EMPTY:
            await response.write_eof()
            return response
        for event in dialect.opening(exchange):
            await response.write(event)
        if kind is FaultKind.FIRST_TOKEN_DELAY:
            await asyncio.sleep(fault.seconds)
        sent = tokens
        if kind in (FaultKind.CUT_AFTER, FaultKind.TRUNCATED, FaultKind.STREAM_ERROR, FaultKind.STALL_AFTER):
            sent = tokens[: fault.tokens]
        elif kind is FaultKind.MALFORMED:
            sent = tokens[:MALFORMED_AFTER_TOKENS]
        for index, token in enumerate(sent):
            if index and kind is FaultKind.TOKEN_DELAY:
                await asyncio.sleep(fault.seconds)
            await response.write(dialect.token(exchange, index, token))
        if kind is FaultKind.CUT_AFTER and fault.abort:
            _reset(request)  # no end of the chunked body: the client sees the connection drop
            return response
        if kind is FaultKind.STALL_AFTER:
            await _hang(request)  # silence mid-answer, the connection open, until the client gives up
            return _reset(request)
        if kind is FaultKind.MALFORMED:
            await response.write(dialect.malformed())
        if kind is FaultKind.STREAM_ERROR:
            await response.write(dialect.stream_error())
        if kind not in {FaultKind.CUT_AFTER, FaultKind.MALFORMED, FaultKind.STREAM_ERROR}:
            for event in dialect.closing(exchange, sent, truncated=kind is FaultKind.TRUNCATED):
                await response.write(event)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away mid-stream: nothing left to do
    return response


async def _play(request: web.Request, dialect: Dialect, exchange: Exchange, fault: Fault | None) -> web.StreamResponse:
    fault = fault or NO_FAULT
    kind = fault.kind
    if kind is FaultKind.RESET:
        return _reset(request)
    if kind is FaultKind.HANG:
        await _hang(request)
        return _reset(request)  # the client is gone already, or the server is stopping
    if kind is FaultKind.LATENCY:
        await asyncio.sleep(fault.seconds)
    if kind is FaultKind.STATUS:
        return _status_error(dialect, exchange, fault)
    if kind is FaultKind.CONTEXT_LENGTH:
        return _error_response(dialect, exchange.request_id, 400, dialect.context_length_error(exchange, fault.limit))
    text = fault.reply if fault.reply is not None else reply_text(exchange.last_user_text)
    tokens = reply_tokens(text)
    if exchange.stream:
        return await _stream(request, dialect, exchange, fault, tokens)
    return await _complete(dialect, exchange, fault, tokens)


def _header_fault(request: web.Request) -> Fault | None:
    raw = request.headers.get(FAULT_HEADER)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise FaultError(f"{FAULT_HEADER} is not JSON: {error}") from None
    return Fault.from_dict(data)


async def _api(request: web.Request, dialect: Dialect) -> web.StreamResponse:
    target = request.match_info["target"]
    try:
        header_fault = _header_fault(request)
        exchange = dialect.read(target, await _json_or_none(request))
    except (FaultError, BadRequest) as error:
        _record(request, dialect, model=None, stream=None, fault=None, source=None)
        request_id = "req_" + secrets.token_hex(16)
        return _error_response(dialect, request_id, 400, dialect.error(400, f"fake LLM server: {error}", request_id))
    fault, source = (header_fault, "header") if header_fault else (request.app[REGISTRY].take(target), "armed")
    _record(request, dialect, model=exchange.model, stream=exchange.stream, fault=fault, source=source)
    return await _play(request, dialect, exchange, fault)


async def _json_or_none(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _record(request: web.Request, dialect: Dialect, *, model: str | None, stream: bool | None,
            fault: Fault | None, source: str | None) -> None:
    request.app[RECEIVED].append(ReceivedRequest(
        target=request.match_info["target"],
        api=dialect.name,
        path=request.path,
        model=model,
        stream=stream,
        time=time.time(),
        fault=fault.to_dict() if fault else None,
        fault_source=source if fault else None,
    ))


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _api(request, OPENAI)


async def messages(request: web.Request) -> web.StreamResponse:
    return await _api(request, ANTHROPIC)


# --- The control API -------------------------------------------------------------------------------


async def faults_arm(request: web.Request) -> web.Response:
    try:
        injection = Injection.from_dict(await _json_or_none(request))
    except FaultError as error:
        return web.json_response({"error": str(error)}, status=400)
    registry = request.app[REGISTRY]
    return web.json_response({"fault": registry.arm(injection).to_dict(registry.now())}, status=201)


async def faults_list(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    return web.json_response({"faults": [armed.to_dict(registry.now()) for armed in registry.armed()]})


async def faults_clear(request: web.Request) -> web.Response:
    return web.json_response({"removed": request.app[REGISTRY].disarm(request.query.get("target"))})


async def requests_list(request: web.Request) -> web.Response:
    target = request.query.get("target")
    received = [asdict(entry) for entry in request.app[RECEIVED] if target is None or entry.target == target]
    return web.json_response({"requests": received})


async def requests_clear(request: web.Request) -> web.Response:
    removed = len(request.app[RECEIVED])
    request.app[RECEIVED].clear()
    return web.json_response({"removed": removed})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _release_hanging_requests(app: web.Application) -> None:
    app[STOPPING].set()


def create_app(registry: FaultRegistry | None = None) -> web.Application:
    app = web.Application()
    app[REGISTRY] = registry or FaultRegistry()
    app[RECEIVED] = deque(maxlen=REQUEST_LOG_SIZE)
    app[STOPPING] = asyncio.Event()
    app.on_shutdown.append(_release_hanging_requests)
    app.add_routes([
        web.post("/{target}/v1/chat/completions", chat_completions),
        web.post("/{target}/v1/messages", messages),
        web.post("/_fake/faults", faults_arm),
        web.get("/_fake/faults", faults_list),
        web.delete("/_fake/faults", faults_clear),
        web.get("/_fake/requests", requests_list),
        web.delete("/_fake/requests", requests_clear),
        web.get("/_fake/health", health),
    ])
    return app


# --- Running it in a background thread ------------------------------------------------------------


class FakeLLMServer:
    """The fake server on its own event loop in a background thread, driven over HTTP.

        with FakeLLMServer() as server:
            client = openai.OpenAI(base_url=server.openai_url(), api_key="fake")
            server.inject("openai", kind="status", code=429, retry_after=1, count=1)

    As a pytest fixture:

        @pytest.fixture(scope="session")
        def fake_llm():
            with FakeLLMServer() as server:
                yield server

    `port=0` takes a free port; `.base_url` tells which.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, startup_timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self._startup_timeout = startup_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._thread is None:
            raise RuntimeError("the fake LLM server is not running: call start() or use it as a context manager")
        return f"http://{self.host}:{self.port}"

    def openai_url(self, target: str = "openai") -> str:
        return f"{self.base_url}/{target}/v1"

    def anthropic_url(self, target: str = "anthropic") -> str:
        return f"{self.base_url}/{target}"

    def start(self) -> FakeLLMServer:
        if self._thread is not None:
            return self
        started = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(started, failure), name="fake-llm", daemon=True)
        self._thread.start()
        if not started.wait(self._startup_timeout):
            raise RuntimeError(f"the fake LLM server did not start within {self._startup_timeout} s")
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"the fake LLM server could not start on {self.host}:{self.port}") from failure[0]
        return self

    def _run(self, started: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:  # reported to start(), which raises it in the caller's thread
            failure.append(error)
            started.set()
            loop.close()
            return
        started.set()
        loop.run_forever()
        loop.close()

    async def _serve(self) -> None:
        self._runner = web.AppRunner(create_app(), shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # The control API.

    def inject(self, target: str, **fault: Any) -> dict[str, Any]:
        """Arm a fault: `inject("openai", kind="status", code=503, count=1)`. Returns it as armed."""
        return self._control("POST", "/_fake/faults", {"target": target, **fault})["fault"]

    def faults(self) -> list[dict[str, Any]]:
        return self._control("GET", "/_fake/faults")["faults"]

    def clear(self) -> None:
        """Disarm every fault and forget the requests received: a fresh server for the next test."""
        self._control("DELETE", "/_fake/faults")
        self._control("DELETE", "/_fake/requests")

    def requests(self, target: str | None = None) -> list[dict[str, Any]]:
        query = "?" + urllib.parse.urlencode({"target": target}) if target is not None else ""
        return self._control("GET", f"/_fake/requests{query}")["requests"]

    def _control(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 400:
                raise FaultError(json.load(error).get("error", "invalid fault")) from None
            raise


def fault_header(**fault: Any) -> dict[str, str]:
    """The `X-Fake-Fault` header for one request: `extra_headers=fault_header(kind="hang")`."""
    Fault.from_dict(fault)  # fail here, in the caller, on a typo
    return {FAULT_HEADER: json.dumps(fault)}

