"""The provider chain through the real `openai` and `anthropic` SDKs over HTTP, against the fake
LLM server, for every fault it can inject: who answered, what was logged, which recovery ran,
and what the breaker did. No SDK call is mocked."""
from __future__ import annotations

import time

import pytest

from chat.chain import chain_from_settings
from chat.prompts import next_question
from chat.providers.base import ReplyKind, ReplyRequest
from chat.providers.template import compose_reply
from chat.turn_log import TurnLog
from resilience.ai_records import RecoveryStrategy, RequestStatus
from resilience.breakers import get_breaker
from resilience.machine import State

pytestmark = pytest.mark.asyncio

FAKE_ACK = "¡Gracias! Lo tengo anotado."


class Sink:
    def __init__(self) -> None:
        self.visible: list[str] = []
        self.discards = 0
        self.first_token_at: float | None = None

    async def token(self, text: str) -> None:
        self.first_token_at = self.first_token_at or time.monotonic()
        self.visible.append(text)

    async def discard(self) -> None:
        self.discards += 1
        self.visible.clear()

    @property
    def text(self) -> str:
        return "".join(self.visible).strip()


def request(answer: str = "Luna Roja", session: str = "session-1", **overrides) -> ReplyRequest:
    fields = dict(session_id=session, language="es", kind=ReplyKind.ADVANCE, step=1, next_step=2,
                  answer=answer, artist_name="Luna Roja", answers={"artist_name": "Luna Roja"})
    fields.update(overrides)
    return ReplyRequest(**fields)


async def turn(req: ReplyRequest | None = None):
    req = req or request()
    sink, log = Sink(), TurnLog(req.session_id, req.step)
    started = time.monotonic()
    reply = await chain_from_settings().reply(req, sink, log)
    requests, recoveries = log.finished(fallback_used=reply.fallback_used)
    return reply, sink, requests, recoveries, time.monotonic() - started


def statuses(requests) -> list[tuple[str, str]]:
    return [(record.provider, record.error_code or str(record.status)) for record in requests]


async def test_a_healthy_openai_answers_and_the_request_is_logged_without_text(fake_llm):
    reply, sink, requests, recoveries, _ = await turn()
    assert (reply.provider, reply.fallback_used) == ("openai", False)
    assert reply.text == f"{FAKE_ACK} {next_question(request())}" == sink.text
    (record,) = requests
    assert record.status is RequestStatus.SUCCESS and record.model == "gpt-4o-mini"
    assert record.first_token_ms is not None and record.tokens_in and record.tokens_out
    assert len(record.prompt_sha256) == 64 and record.prompt_chars > 100 and record.reply_chars == len(reply.text)
    assert "Luna Roja" not in repr(record)  # only hashes and lengths of the texts
    assert recoveries == []
    assert [r["target"] for r in fake_llm.requests()] == ["openai"]


async def test_server_errors_are_retried_within_the_first_token_budget_then_anthropic_answers(fake_llm, settings):
    settings.AI_FIRST_TOKEN_TIMEOUT = 1.2
    fake_llm.inject("openai", kind="status", code=500)
    reply, _, requests, recoveries, elapsed = await turn()
    assert (reply.provider, reply.fallback_used) == ("anthropic", True)
    # A 0.5 s wait leaves a first token time within the 1.2 s budget; the next (1 s) would not.
    assert statuses(requests) == [("openai", "http_500"), ("openai", "http_500"), ("anthropic", "success")]
    assert [r.retry_count for r in requests[:2]] == [0, 1]
    assert [(r.strategy, r.success) for r in recoveries] == [
        (RecoveryStrategy.RETRY, False), (RecoveryStrategy.FALLBACK, True)]
    assert all(record.fallback_used for record in requests)
    assert 0.5 <= elapsed < 2.0


async def test_retries_back_off_half_a_second_then_one_then_two(fake_llm, settings):
    settings.AI_FIRST_TOKEN_TIMEOUT = 5.0
    settings.AI_TOTAL_TIMEOUT = 8.0
    fake_llm.inject("openai", kind="status", code=503, count=3)
    reply, _, requests, recoveries, elapsed = await turn()
    assert reply.provider == "openai"  # the fourth attempt succeeds
    assert [r.retry_count for r in requests] == [0, 1, 2, 3]
    assert [r.action for r in recoveries] == [
        "retry openai after 0.5 s (http_503)", "retry openai after 1 s (http_503)",
        "retry openai after 2 s (http_503)"]
    assert [r.success for r in recoveries] == [False, False, True]
    assert elapsed >= 3.5


async def test_a_429_waits_for_its_retry_after(fake_llm, settings):
    settings.AI_FIRST_TOKEN_TIMEOUT = 2.5
    fake_llm.inject("openai", kind="status", code=429, retry_after=1, count=1)
    reply, _, requests, recoveries, elapsed = await turn()
    assert reply.provider == "openai" and not reply.fallback_used
    assert statuses(requests) == [("openai", "http_429"), ("openai", "success")]
    assert recoveries[0].action == "retry openai after 1 s (http_429)" and recoveries[0].success
    assert elapsed >= 1.0


async def test_a_retry_that_would_leave_no_time_for_a_first_token_is_not_made(fake_llm):
    fake_llm.inject("openai", kind="status", code=503)  # 0.5 s wait + 0.5 s > the 0.8 s budget
    reply, _, requests, recoveries, elapsed = await turn()
    assert statuses(requests) == [("openai", "http_503"), ("anthropic", "success")]
    assert [r.strategy for r in recoveries] == [RecoveryStrategy.FALLBACK] and elapsed < 0.5


@pytest.mark.parametrize(("target", "code"), [("anthropic", "http_529"), ("openai", "stream_error")])
async def test_an_error_reported_inside_a_stream_is_classified_and_retried(fake_llm, settings, target, code):
    settings.AI_FIRST_TOKEN_TIMEOUT = 1.2
    settings.AI_PROVIDER_CHAIN = [target, "template"]
    fake_llm.inject(target, kind="stream_error", count=1)
    reply, _, requests, _, _ = await turn()
    assert reply.provider == target
    assert statuses(requests) == [(target, code), (target, "success")]


@pytest.mark.parametrize("target", ["openai", "anthropic"])
async def test_a_reply_cut_by_the_token_limit_is_not_kept(fake_llm, settings, target):
    settings.AI_PROVIDER_CHAIN = [target, "local", "template"]
    fake_llm.inject(target, kind="truncated", tokens=4)
    reply, sink, requests, _, _ = await turn()
    assert reply.provider == "local"
    assert statuses(requests)[0] == (target, "broken_stream") and sink.discards == 1


async def test_the_log_keeps_no_error_text_from_the_provider(fake_llm):
    fake_llm.inject("openai", kind="status", code=400, message="invalid input: 'Luna Roja dice hola'")
    _, _, requests, _, _ = await turn()
    assert requests[0].error_message == "BadRequestError HTTP 400 invalid_request_error"
    assert "Luna" not in requests[0].error_message


async def test_the_reply_cache_never_serves_another_artist(fake_llm):
    luna = request(answer="techno", artist_name="Luna Roja", answers={"artist_name": "Luna Roja"})
    await turn(luna)
    for target in ("openai", "anthropic", "local"):
        fake_llm.inject(target, kind="status", code=503)
    sol = request(answer="Techno", artist_name="Sol Negro", answers={"artist_name": "Sol Negro"}, session="s2")
    reply, *_ = await turn(sol)
    assert reply.provider == "template"


async def test_a_429_asking_to_wait_past_the_deadline_falls_back_at_once(fake_llm):
    fake_llm.inject("openai", kind="status", code=429, retry_after=30)
    reply, _, requests, _, elapsed = await turn()
    assert reply.provider == "anthropic"
    assert statuses(requests) == [("openai", "http_429"), ("anthropic", "success")]
    assert elapsed < 0.8


async def test_a_hanging_openai_misses_the_first_token_deadline(fake_llm):
    fake_llm.inject("openai", kind="hang")
    reply, sink, requests, _, elapsed = await turn()
    assert reply.provider == "anthropic"
    assert statuses(requests) == [("openai", "timeout_first_token"), ("anthropic", "success")]
    assert requests[0].status is RequestStatus.TIMEOUT
    assert 0.8 <= elapsed < 1.8


async def test_latency_under_the_deadline_is_fine(fake_llm):
    fake_llm.inject("openai", kind="first_token_delay", seconds=0.3)
    reply, _, requests, _, _ = await turn()
    assert reply.provider == "openai" and requests[0].first_token_ms >= 300


async def test_a_reply_slower_than_the_total_timeout_is_replaced(fake_llm, settings):
    settings.AI_TOTAL_TIMEOUT = 1.0
    fake_llm.inject("openai", kind="token_delay", seconds=0.2)
    reply, sink, requests, _, _ = await turn()
    assert reply.provider == "anthropic"
    assert statuses(requests)[0] == ("openai", "timeout_total")
    assert sink.discards == 1 and sink.text == reply.text  # the half reply was replaced cleanly


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize("step", range(1, 7))
async def test_a_model_that_asked_the_next_question_is_not_followed_by_it_again(fake_llm, step, language):
    """The story's question is a request with no question mark: it used to be printed twice."""
    req = request(step=step, next_step=step + 1, language=language)
    asked = next_question(req)
    fake_llm.inject("openai", kind="none", reply=f"¡Genial! {asked}")
    reply, sink, *_ = await turn(req)
    assert reply.provider == "openai" and reply.text.count(asked) == 1 and sink.text == reply.text


@pytest.mark.parametrize("target", ["openai", "anthropic"])
async def test_a_stream_that_stalls_mid_answer_is_given_up_within_the_idle_deadline(fake_llm, settings, target):
    """Words, then silence with the connection open: the next provider answers after the idle
    deadline, not the total one (10 s of frozen words)."""
    settings.AI_PROVIDER_CHAIN = [target, "local", "template"]
    settings.AI_STREAM_IDLE_TIMEOUT = 0.5
    fake_llm.inject(target, kind="stall_after", tokens=5)
    reply, sink, requests, recoveries, elapsed = await turn()
    assert reply.provider == "local" and reply.fallback_used
    assert statuses(requests)[0] == (target, "timeout_stream_idle")
    assert requests[0].status is RequestStatus.TIMEOUT
    assert sink.discards == 1 and sink.text == reply.text  # the frozen words were replaced cleanly
    assert 0.5 <= elapsed < settings.AI_TOTAL_TIMEOUT / 2
    assert recoveries[-1].action == f"{target} -> local" and recoveries[-1].success


@pytest.mark.parametrize(("fault", "code"), [
    ({"kind": "cut_after", "tokens": 3}, "broken_stream"),
    ({"kind": "cut_after", "tokens": 3, "abort": True}, "connection_error"),
    ({"kind": "empty"}, "broken_stream"),
    ({"kind": "not_sse"}, "broken_stream"),
    ({"kind": "malformed"}, "malformed_response"),
])
@pytest.mark.parametrize("target", ["openai", "anthropic"])
async def test_a_broken_stream_is_completed_by_the_next_provider(fake_llm, settings, target, fault, code):
    settings.AI_PROVIDER_CHAIN = [target, "local", "template"]
    fake_llm.inject(target, **fault)
    reply, sink, requests, recoveries, _ = await turn()
    assert reply.provider == "local" and reply.fallback_used
    assert statuses(requests)[0] == (target, code)
    assert sink.text == reply.text == f"{FAKE_ACK} {next_question(request())}"  # no half sentence kept
    assert recoveries[-1].action == f"{target} -> local" and recoveries[-1].success


async def test_a_connection_reset_is_retried(fake_llm, settings):
    settings.AI_FIRST_TOKEN_TIMEOUT = 1.2
    fake_llm.inject("openai", kind="reset", count=1)
    reply, _, requests, _, _ = await turn()
    assert reply.provider == "openai"
    assert statuses(requests) == [("openai", "connection_error"), ("openai", "success")]


async def test_a_context_length_error_simplifies_the_prompt(fake_llm):
    story = "Empecé pinchando en Vallecas. " * 70  # ~2100 characters
    req = request(answer=story[:2000], kind=ReplyKind.ADVANCE, step=5, next_step=6,
                  answers={"artist_name": "Luna Roja", "story": story[:2000]})
    fake_llm.inject("openai", kind="context_length", count=1)
    reply, _, requests, recoveries, _ = await turn(req)
    assert reply.provider == "openai"
    assert statuses(requests) == [("openai", "context_length"), ("openai", "success")]
    assert requests[0].prompt_chars > 5000 and requests[1].prompt_chars <= 3000
    assert recoveries[0].strategy is RecoveryStrategy.SIMPLIFY and recoveries[0].success
    assert "temperature 0.3" in recoveries[0].action
    assert reply.text.endswith(next_question(req))  # the question survived the cut


async def test_an_invalid_key_is_skipped_without_tripping_the_breaker(fake_llm):
    fake_llm.inject("openai", kind="status", code=401)
    for _ in range(12):
        reply, _, requests, _, _ = await turn()
        assert reply.provider == "anthropic" and statuses(requests)[0] == ("openai", "http_401")
    assert get_breaker("openai").state is State.CLOSED
    assert get_breaker("openai").snapshot().ignored == 12


async def test_once_the_breaker_opens_openai_is_not_touched_at_all(fake_llm, settings):
    settings.BREAKER_OVERRIDES = '{"openai": {"failure_threshold": 2, "volume_threshold": 2}}'
    fake_llm.inject("openai", kind="hang")
    for _ in range(2):
        await turn()
    assert get_breaker("openai").state is State.OPEN
    touched = len(fake_llm.requests("openai"))
    reply, sink, requests, _, elapsed = await turn()
    assert reply.provider == "anthropic" and elapsed < 0.5
    assert statuses(requests) == [("openai", "refused"), ("anthropic", "success")]
    assert len(fake_llm.requests("openai")) == touched


async def test_local_answers_when_both_clouds_are_down(fake_llm):
    for target in ("openai", "anthropic"):
        fake_llm.inject(target, kind="status", code=401)
    reply, _, requests, _, _ = await turn()
    assert reply.provider == "local" and [r.provider for r in requests][-1] == "local"
    assert requests[-1].model == "llama3.1"


async def test_when_every_provider_fails_a_cached_reply_then_the_template_answers(fake_llm):
    healthy, *_ = await turn(request(answer="Luna  ROJA"))  # an AI reply, cached
    for target in ("openai", "anthropic", "local"):
        fake_llm.inject(target, kind="status", code=400)
    cached, _, _, recoveries, _ = await turn(request(answer="luna roja!"))  # an equivalent answer
    assert (cached.provider, cached.text, cached.fallback_used) == ("cache", healthy.text, True)
    assert recoveries[-1].strategy is RecoveryStrategy.CACHE and recoveries[-1].success

    other = request(answer="Sol Negro", artist_name="Sol Negro")
    templated, _, _, recoveries, _ = await turn(other)
    assert (templated.provider, templated.text) == ("template", compose_reply(other))
    assert [(r.strategy, r.success) for r in recoveries[-2:]] == [
        (RecoveryStrategy.CACHE, False), (RecoveryStrategy.TEMPLATE, True)]


async def test_a_provider_without_its_key_is_skipped(fake_llm, settings):
    settings.OPENAI_API_KEY = ""
    settings.LOCAL_LLM_BASE_URL = ""
    reply, _, requests, _, _ = await turn()
    assert (reply.provider, reply.fallback_used) == ("anthropic", False)
    assert [r["target"] for r in fake_llm.requests()] == ["anthropic"]


async def test_with_no_key_at_all_the_template_answers_first(settings):
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = settings.LOCAL_LLM_BASE_URL = ""
    reply, _, requests, _, _ = await turn()
    assert (reply.provider, reply.fallback_used, requests) == ("template", False, [])


async def test_a_reply_without_the_next_question_gets_it_added(fake_llm):
    fake_llm.inject("openai", kind="none", reply="Qué buen nombre.")
    reply, sink, _, _, _ = await turn()
    assert reply.text == f"Qué buen nombre.\n\n{next_question(request())}" == sink.text
