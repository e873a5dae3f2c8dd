"""The fake LLM server, driven by the real `openai` and `anthropic` SDKs over HTTP.

Most behaviours run once per API (the `api` fixture): the same fault must look, through each SDK,
the way the real provider's failure looks. The stream tests pin down what each SDK does with a
broken stream, which is what the product's broken-stream detection relies on.
"""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import anthropic
import httpx2
import openai
import pytest
import pytest_asyncio

from chat.fake_llm import FakeLLMServer, Fault, FaultError, FaultKind, FaultRegistry, Injection, fault_header
from presskit.embedded_redis import free_local_port

SYSTEM = "Eres el asistente de ÍTERA PressKit."
PROMPT = "Me llamo Ana Torres.\nSiguiente pregunta: ¿De qué ciudad eres?"
REPLY = "¡Gracias! Lo tengo anotado. ¿De qué ciudad eres?"
REPLY_TOKENS = ["¡Gracias! ", "Lo ", "tengo ", "anotado. ", "¿De ", "qué ", "ciudad ", "eres?"]
INPUT_TOKENS = (len(SYSTEM) + len(PROMPT)) // 4
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"}
DELAY = 0.3  # seconds: long enough to measure, short enough to keep the suite fast


# --- Running the server and the SDK clients ---------------------------------------------------------


@pytest.fixture(scope="module")
def running_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def server(running_server: FakeLLMServer) -> FakeLLMServer:
    running_server.clear()
    return running_server


@dataclass
class Streamed:
    """What a consumer of one SDK stream saw (filled as the stream goes, so also before an error)."""

    texts: list[str] = field(default_factory=list)  # the non-empty text pieces, in order
    finished: bool = False  # the terminal event came: a finish_reason (OpenAI), message_stop (Anthropic)
    usage: tuple[int, int] | None = None  # (input tokens, output tokens), when the stream reported them
    first_text_after: float | None = None  # seconds from the call to the first text piece


@dataclass
class Completed:
    text: str
    usage: tuple[int, int]
    model: str
    id: str


@dataclass
class Api:
    """One SDK pointed at one target of the fake server, with the same verbs for both APIs."""

    name: str  # the target armed by default, and the SDK
    sdk: ModuleType  # `openai` or `anthropic`: both define the exception classes the tests name
    stream: Callable[..., Awaitable[Streamed]]
    complete: Callable[..., Awaitable[Completed]]


def openai_api(client: openai.AsyncOpenAI) -> Api:
    async def stream(prompt: str = PROMPT, headers: dict[str, str] | None = None, seen: Streamed | None = None,
                     **options: Any) -> Streamed:
        started = time.monotonic()
        seen = Streamed() if seen is None else seen
        chunks = await client.chat.completions.create(
            model=MODELS["openai"], messages=_openai_messages(prompt), stream=True, extra_headers=headers, **options
        )
        async for chunk in chunks:
            if chunk.usage is not None:
                seen.usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            for choice in chunk.choices:
                if choice.delta.content:
                    _saw_text(seen, choice.delta.content, started)
                if choice.finish_reason is not None:
                    seen.finished = True
        return seen

    async def complete(prompt: str = PROMPT, headers: dict[str, str] | None = None) -> Completed:
        completion = await client.chat.completions.create(
            model=MODELS["openai"], messages=_openai_messages(prompt), extra_headers=headers
        )
        usage = (completion.usage.prompt_tokens, completion.usage.completion_tokens)
        return Completed(completion.choices[0].message.content, usage, completion.model, completion.id)

    return Api("openai", openai, stream, complete)


def anthropic_api(client: anthropic.AsyncAnthropic) -> Api:
    async def stream(prompt: str = PROMPT, headers: dict[str, str] | None = None,
                     seen: Streamed | None = None) -> Streamed:
        started = time.monotonic()
        seen = Streamed() if seen is None else seen
        input_tokens = None
        events = await client.messages.create(
            model=MODELS["anthropic"], max_tokens=256, system=SYSTEM, messages=[{"role": "user", "content": prompt}],
            stream=True, extra_headers=headers,
        )
        async for event in events:
            if event.type == "message_start":
                input_tokens = event.message.usage.input_tokens
            elif event.type == "content_block_delta" and event.delta.type == "text_delta" and event.delta.text:
                _saw_text(seen, event.delta.text, started)
            elif event.type == "message_delta":
                seen.usage = (input_tokens, event.usage.output_tokens)
            elif event.type == "message_stop":
                seen.finished = True
        return seen

    async def complete(prompt: str = PROMPT, headers: dict[str, str] | None = None) -> Completed:
        message = await client.messages.create(
            model=MODELS["anthropic"], max_tokens=256, system=SYSTEM, messages=[{"role": "user", "content": prompt}],
            extra_headers=headers,
        )
        text = "".join(block.text for block in message.content if block.type == "text")
        return Completed(text, (message.usage.input_tokens, message.usage.output_tokens), message.model, message.id)

    return Api("anthropic", anthropic, stream, complete)


def _openai_messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]


def _saw_text(seen: Streamed, text: str, started: float) -> None:
    if seen.first_text_after is None:
        seen.first_text_after = time.monotonic() - started
    seen.texts.append(text)


def openai_client(server: FakeLLMServer, target: str = "openai", timeout: float = 5) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.openai_url(target), api_key="fake", max_retries=0, timeout=timeout)


def anthropic_client(server: FakeLLMServer, target: str = "anthropic", timeout: float = 5) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=server.anthropic_url(target), api_key="fake", max_retries=0,
                                    timeout=timeout)


@pytest_asyncio.fixture(params=["openai", "anthropic"])
async def api(request: pytest.FixtureRequest, server: FakeLLMServer) -> AsyncIterator[Api]:
    if request.param == "openai":
        client = openai_client(server)
        yield openai_api(client)
    else:
        client = anthropic_client(server)
        yield anthropic_api(client)
    await client.close()


# --- Normal replies --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_stream_gives_the_reply_word_by_word_then_its_terminal_event(api: Api) -> None:
    streamed = await api.stream(**({"stream_options": {"include_usage": True}} if api.name == "openai" else {}))

    assert streamed.texts == REPLY_TOKENS
    assert "".join(streamed.texts) == REPLY
    assert streamed.finished
    assert streamed.usage == (INPUT_TOKENS, len(REPLY_TOKENS))


@pytest.mark.asyncio
async def test_a_non_streaming_reply_has_the_text_usage_model_and_an_id(api: Api) -> None:
    completed = await api.complete()

    assert completed.text == REPLY
    assert completed.usage == (INPUT_TOKENS, len(REPLY_TOKENS))
    assert completed.model == MODELS[api.name]
    assert completed.id.startswith({"openai": "chatcmpl-", "anthropic": "msg_"}[api.name])


@pytest.mark.asyncio
async def test_without_a_next_question_the_reply_is_the_acknowledgement(api: Api) -> None:
    assert (await api.complete(prompt="Me llamo Ana Torres.")).text == "¡Gracias! Lo tengo anotado."
    assert "".join((await api.stream(prompt="Me llamo Ana Torres.")).texts) == "¡Gracias! Lo tengo anotado."


@pytest.mark.asyncio
async def test_a_fault_can_choose_the_reply_text(api: Api) -> None:
    streamed = await api.stream(headers=fault_header(kind="none", reply="Hola de nuevo."))

    assert streamed.texts == ["Hola ", "de ", "nuevo."]
    assert streamed.finished


@pytest.mark.asyncio
async def test_openai_streams_report_usage_only_when_asked(server: FakeLLMServer) -> None:
    async with openai_client(server) as client:
        streamed = await openai_api(client).stream()

    assert streamed.finished
    assert streamed.usage is None


def test_the_sync_openai_client_works_too(server: FakeLLMServer) -> None:
    with openai.OpenAI(base_url=server.openai_url(), api_key="fake", max_retries=0, timeout=5) as client:
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=_openai_messages(PROMPT))
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=_openai_messages(PROMPT),
                                                     stream=True))

    assert completion.choices[0].message.content == REPLY
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == REPLY
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_the_sync_anthropic_client_works_too(server: FakeLLMServer) -> None:
    with anthropic.Anthropic(base_url=server.anthropic_url(), api_key="fake", max_retries=0, timeout=5) as client:
        message = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=256,
                                         messages=[{"role": "user", "content": PROMPT}])
        with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=256,
                                    messages=[{"role": "user", "content": PROMPT}]) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()

    assert message.content[0].text == REPLY
    assert text == REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == len(REPLY_TOKENS)


# --- HTTP errors -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_429_raises_rate_limit_error_with_a_readable_retry_after(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="status", code=429, retry_after=7)

    with pytest.raises(api.sdk.RateLimitError) as raised:
        await api.stream()

    assert raised.value.status_code == 429
    assert raised.value.response.headers["retry-after"] == "7"
    assert (raised.value.code if api.name == "openai" else raised.value.type) == {
        "openai": "rate_limit_exceeded", "anthropic": "rate_limit_error"}[api.name]


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [500, 503])
async def test_5xx_raises_internal_server_error(api: Api, server: FakeLLMServer, code: int) -> None:
    server.inject(api.name, kind="status", code=code)

    with pytest.raises(api.sdk.InternalServerError) as raised:
        await api.complete()

    assert raised.value.status_code == code


@pytest.mark.asyncio
async def test_anthropic_529_raises_overloaded_error(server: FakeLLMServer) -> None:
    server.inject("anthropic", kind="status", code=529)

    async with anthropic_client(server) as client:
        with pytest.raises(anthropic.OverloadedError) as raised:
            await anthropic_api(client).stream()

    assert isinstance(raised.value, anthropic.InternalServerError)
    assert raised.value.status_code == 529
    assert raised.value.body["error"]["type"] == "overloaded_error"


@pytest.mark.asyncio
@pytest.mark.parametrize(("code", "error_class"), [(400, "BadRequestError"), (401, "AuthenticationError")])
async def test_4xx_raises_the_matching_error(api: Api, server: FakeLLMServer, code: int, error_class: str) -> None:
    server.inject(api.name, kind="status", code=code, message="No way.")

    with pytest.raises(getattr(api.sdk, error_class)) as raised:
        await api.complete()

    assert raised.value.status_code == code
    assert "No way." in str(raised.value)


@pytest.mark.asyncio
async def test_context_length_raises_bad_request_with_the_providers_code(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="context_length", limit=4096)

    with pytest.raises(api.sdk.BadRequestError) as raised:
        await api.stream()

    if api.name == "openai":
        assert raised.value.code == "context_length_exceeded"
    else:
        assert raised.value.type == "invalid_request_error"
        assert re.fullmatch(r"prompt is too long: \d+ tokens > 4096 maximum", raised.value.body["error"]["message"])


# --- Connection faults -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_hung_request_times_out_while_a_concurrent_one_is_answered(api: Api, server: FakeLLMServer) -> None:
    make_client = openai_client if api.name == "openai" else anthropic_client
    async with make_client(server, timeout=1.0) as impatient:
        impatient_api = (openai_api if api.name == "openai" else anthropic_api)(impatient)
        hung = asyncio.create_task(impatient_api.stream(headers=fault_header(kind="hang")))
        while not await asyncio.to_thread(server.requests, api.name):
            await asyncio.sleep(0.01)  # until the server holds the hung request

        answered = await api.complete()
        assert not hung.done()  # answered while the other request hangs
        with pytest.raises(api.sdk.APITimeoutError):
            await hung

    assert answered.text == REPLY


@pytest.mark.asyncio
async def test_reset_raises_a_connection_error(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="reset")

    with pytest.raises(api.sdk.APIConnectionError) as raised:
        await api.stream()

    assert not isinstance(raised.value, api.sdk.APITimeoutError)


# --- Broken streams: what each SDK does with them ----------------------------------------------------


@pytest.mark.asyncio
async def test_a_cut_stream_ends_quietly_without_its_terminal_event(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="cut_after", tokens=3)

    streamed = await api.stream()  # no exception: the SDKs end such a stream as if it were complete

    assert streamed.texts == REPLY_TOKENS[:3]
    assert not streamed.finished
    assert streamed.usage is None


@pytest.mark.asyncio
async def test_a_stalled_stream_sends_its_first_tokens_then_nothing_until_the_client_gives_up(
        api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="stall_after", tokens=2)
    seen = Streamed()

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):  # what a client's idle deadline does
            await api.stream(seen=seen)

    assert seen.texts == REPLY_TOKENS[:2]
    assert not seen.finished


@pytest.mark.asyncio
async def test_the_sdk_stream_helpers_accept_a_cut_stream_as_final(server: FakeLLMServer) -> None:
    """The helpers' final message has no finish/stop reason: the only sign of the cut."""
    cut = fault_header(kind="cut_after", tokens=2)
    async with openai_client(server) as client:
        async with client.chat.completions.stream(model="gpt-4o-mini", messages=_openai_messages(PROMPT),
                                                  extra_headers=cut) as stream:
            completion = await stream.get_final_completion()
    async with anthropic_client(server) as client:
        async with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=256,
                                          messages=[{"role": "user", "content": PROMPT}], extra_headers=cut) as stream:
            message = await stream.get_final_message()

    assert completion.choices[0].message.content == "¡Gracias! Lo "
    assert completion.choices[0].finish_reason is None
    assert message.content[0].text == "¡Gracias! Lo "
    assert message.stop_reason is None


# What each SDK raises when the connection breaks mid-stream: OpenAI wraps it in its own errors,
# Anthropic lets httpx2's exception through (httpx2, not httpx: these SDK versions use httpx2).
MID_STREAM_DROP = {"openai": openai.APIConnectionError, "anthropic": httpx2.RemoteProtocolError}
MID_STREAM_TIMEOUT = {"openai": openai.APITimeoutError, "anthropic": httpx2.ReadTimeout}


@pytest.mark.asyncio
async def test_a_stream_dropped_mid_way_raises(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="cut_after", tokens=2, abort=True)
    seen = Streamed()

    with pytest.raises(MID_STREAM_DROP[api.name]):
        await api.stream(seen=seen)

    assert seen.texts == REPLY_TOKENS[:2]
    assert not seen.finished


@pytest.mark.asyncio
async def test_a_read_timeout_mid_stream_raises(api: Api, server: FakeLLMServer) -> None:
    make_client, make_api = (openai_client, openai_api) if api.name == "openai" else (anthropic_client, anthropic_api)
    server.inject(api.name, kind="token_delay", seconds=0.5)
    seen = Streamed()

    async with make_client(server, timeout=0.2) as impatient:
        with pytest.raises(MID_STREAM_TIMEOUT[api.name]):
            await make_api(impatient).stream(seen=seen)

    assert seen.texts == REPLY_TOKENS[:1]


@pytest.mark.asyncio
async def test_a_malformed_event_raises_a_json_error_not_an_sdk_error(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="malformed")
    seen = Streamed()

    with pytest.raises(json.JSONDecodeError):
        await api.stream(seen=seen)

    assert seen.texts == REPLY_TOKENS[:2]
    assert not seen.finished


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["empty", "not_sse"])
async def test_an_empty_or_non_sse_stream_yields_nothing_and_raises_nothing(
    api: Api, server: FakeLLMServer, kind: str
) -> None:
    server.inject(api.name, kind=kind)

    streamed = await api.stream()

    assert streamed.texts == []
    assert not streamed.finished


# --- Delays ----------------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["latency", "first_token_delay"])
async def test_a_delay_holds_back_the_first_token(api: Api, server: FakeLLMServer, kind: str) -> None:
    server.inject(api.name, kind=kind, seconds=DELAY)

    streamed = await api.stream()

    assert streamed.first_text_after >= DELAY
    assert streamed.texts == REPLY_TOKENS and streamed.finished


@pytest.mark.asyncio
async def test_token_delay_spaces_the_tokens(api: Api, server: FakeLLMServer) -> None:
    gap = 0.05
    server.inject(api.name, kind="token_delay", seconds=gap)
    started = time.monotonic()

    streamed = await api.stream()

    assert time.monotonic() - started >= gap * (len(REPLY_TOKENS) - 1)
    assert streamed.texts == REPLY_TOKENS and streamed.finished


@pytest.mark.asyncio
async def test_latency_delays_a_non_streaming_reply(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="latency", seconds=DELAY)
    started = time.monotonic()

    completed = await api.complete()

    assert time.monotonic() - started >= DELAY
    assert completed.text == REPLY


# --- Arming faults: counts, targets, the header ----------------------------------------------------


@pytest.mark.asyncio
async def test_a_fault_with_count_1_applies_to_one_request_only(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="status", code=503, count=1)

    with pytest.raises(api.sdk.InternalServerError):
        await api.complete()
    assert (await api.complete()).text == REPLY
    assert server.faults() == []


@pytest.mark.asyncio
async def test_a_fault_on_one_target_leaves_the_others_alone(server: FakeLLMServer) -> None:
    server.inject("openai", kind="status", code=500)

    async with openai_client(server, "openai") as cloud, openai_client(server, "local") as local:
        with pytest.raises(openai.InternalServerError):
            await openai_api(cloud).complete()
        assert (await openai_api(local).complete()).text == REPLY
    async with anthropic_client(server) as client:
        assert (await anthropic_api(client).complete()).text == REPLY


@pytest.mark.asyncio
async def test_a_fault_on_every_target_gives_way_to_one_on_the_exact_target(server: FakeLLMServer) -> None:
    server.inject("*", kind="status", code=500)
    server.inject("local", kind="none", reply="Aquí el modelo local.")

    async with openai_client(server, "local") as local, anthropic_client(server) as claude:
        assert (await openai_api(local).complete()).text == "Aquí el modelo local."
        with pytest.raises(anthropic.InternalServerError):
            await anthropic_api(claude).complete()


@pytest.mark.asyncio
async def test_the_header_fault_wins_over_an_armed_one_and_leaves_its_count(api: Api, server: FakeLLMServer) -> None:
    server.inject(api.name, kind="status", code=500, count=1)

    with pytest.raises(api.sdk.RateLimitError):
        await api.complete(headers=fault_header(kind="status", code=429))
    assert (await api.complete(headers=fault_header(kind="none"))).text == REPLY
    with pytest.raises(api.sdk.InternalServerError):
        await api.complete()


@pytest.mark.asyncio
async def test_a_bad_header_fault_is_refused_with_a_bad_request(api: Api) -> None:
    with pytest.raises(api.sdk.BadRequestError) as raised:
        await api.complete(headers={"X-Fake-Fault": json.dumps({"kind": "latency", "secs": 1})})

    assert "secs" in str(raised.value)


def test_the_control_api_refuses_a_mistyped_fault(server: FakeLLMServer) -> None:
    with pytest.raises(FaultError, match="unknown fault kind"):
        server.inject("openai", kind="latncy", seconds=1)
    with pytest.raises(FaultError, match="needs code"):
        server.inject("openai", kind="status")
    with pytest.raises(FaultError, match="retry"):
        server.inject("openai", kind="latency", seconds=1, retry=2)

    assert server.faults() == []


def test_faults_are_listed_and_cleared_per_target(server: FakeLLMServer) -> None:
    server.inject("openai", kind="hang", count=2)
    server.inject("local", kind="latency", seconds=0.1, duration=60)

    listed = {fault["target"]: fault for fault in server.faults()}
    assert listed["openai"]["kind"] == "hang" and listed["openai"]["remaining"] == 2
    assert listed["local"]["seconds"] == 0.1 and 0 < listed["local"]["expires_in"] <= 60

    removed = json.load(urllib.request.urlopen(urllib.request.Request(
        f"{server.base_url}/_fake/faults?target=openai", method="DELETE")))
    assert removed == {"removed": 1}
    assert [fault["target"] for fault in server.faults()] == ["local"]


# --- The requests log and health ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_requests_log_records_each_api_request(server: FakeLLMServer) -> None:
    server.inject("openai", kind="status", code=429, count=1)
    async with openai_client(server) as client:
        with pytest.raises(openai.RateLimitError):
            await openai_api(client).complete()
        await openai_api(client).stream()

    logged = server.requests("openai")
    assert [(entry["model"], entry["stream"], entry["path"]) for entry in logged] == [
        ("gpt-4o-mini", False, "/openai/v1/chat/completions"),
        ("gpt-4o-mini", True, "/openai/v1/chat/completions"),
    ]
    assert logged[0]["fault"] == {"kind": "status", "code": 429, "message": "", "retry_after": None}
    assert logged[0]["fault_source"] == "armed"
    assert logged[1]["fault"] is None
    assert server.requests("anthropic") == []  # a provider not touched at all
    assert len(server.requests()) == 2

    server.clear()
    assert server.requests() == []


def test_health() -> None:
    with FakeLLMServer() as server:
        assert json.load(urllib.request.urlopen(f"{server.base_url}/_fake/health")) == {"status": "ok"}


def test_the_server_takes_the_port_it_is_given() -> None:
    port = free_local_port()
    with FakeLLMServer(port=port) as server:
        assert server.base_url == f"http://127.0.0.1:{port}"
        assert server.openai_url("local") == f"http://127.0.0.1:{port}/local/v1"
        assert server.anthropic_url() == f"http://127.0.0.1:{port}/anthropic"


@pytest.mark.subprocess
def test_python_m_runs_it_in_the_foreground_and_prints_the_urls() -> None:
    port = free_local_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chat.fake_llm", "--port", str(port)], cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{base_url}/_fake/health", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the fake LLM server did not start"
                time.sleep(0.1)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)

    assert f"OPENAI_BASE_URL={base_url}/openai/v1" in output
    assert f"ANTHROPIC_BASE_URL={base_url}/anthropic" in output
    assert f"LOCAL_LLM_BASE_URL={base_url}/local/v1" in output


# --- The fault model, on an injected clock -----------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_fault_with_a_duration_expires() -> None:
    clock = Clock()
    registry = FaultRegistry(clock=clock)
    registry.arm(Injection.from_dict({"target": "openai", "kind": "hang", "duration": 5}))

    clock.now += 4.9
    assert registry.take("openai") == Fault(kind=FaultKind.HANG)
    clock.now += 0.2
    assert registry.take("openai") is None
    assert registry.armed() == []


def test_a_fault_with_a_count_is_used_up_and_the_older_one_shows_again() -> None:
    registry = FaultRegistry(clock=Clock())
    registry.arm(Injection.from_dict({"target": "openai", "kind": "latency", "seconds": 1}))
    registry.arm(Injection.from_dict({"target": "openai", "kind": "reset", "count": 2}))

    kinds = [registry.take("openai").kind for _ in range(3)]

    assert kinds == [FaultKind.RESET, FaultKind.RESET, FaultKind.LATENCY]


@pytest.mark.parametrize("data", [
    {"kind": "status", "code": 200},
    {"kind": "latency", "seconds": -1},
    {"kind": "latency", "seconds": "1"},
    {"kind": "cut_after", "tokens": True},
    {"kind": "cut_after", "tokens": 2, "abort": "yes"},
    {"target": "", "kind": "hang"},
    {"target": "openai", "kind": "hang", "count": 0},
    {"target": "openai", "kind": "hang", "duration": 0},
])
def test_invalid_faults_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(FaultError):
        Injection.from_dict(data) if "target" in data else Fault.from_dict(data)
