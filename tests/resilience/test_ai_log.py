"""The AI request log through its public functions: what a write stores (and never stores), how
failures become error patterns, every selector's figures on a small hand-built data set, and the
purge (service and scheduled task)."""
from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from presskit import celery_app
from resilience.ai_log import (
    AIRequestLogUnknown,
    ai_error_fix,
    ai_log_analysis_summary,
    ai_log_errors_top,
    ai_log_get,
    ai_log_providers,
    ai_log_purge,
    ai_log_recent,
    ai_log_requests_slow,
    ai_log_statistics,
    ai_log_write,
)
from resilience.ai_records import AIRequestRecord, RecoveryRecord, RecoveryStrategy, RequestStatus, sha256_hex
from resilience.models import AIErrorPattern, AIRecoveryAttempt, AIRequestLog, PatternResolution
from resilience.tasks import ai_logs_purge

pytestmark = pytest.mark.django_db

OK, ERROR, TIMEOUT = RequestStatus.SUCCESS, RequestStatus.ERROR, RequestStatus.TIMEOUT
BROKEN, REFUSED = RequestStatus.BROKEN_STREAM, RequestStatus.REFUSED
RETRY, FALLBACK = RecoveryStrategy.RETRY, RecoveryStrategy.FALLBACK


# --- Factory ----------------------------------------------------------------------------------

def record(**fields: object) -> AIRequestRecord:
    """An AI request record: a successful openai request unless told otherwise."""
    failed = fields.get("status", OK) != OK
    defaults: dict[str, object] = {
        "request_id": uuid.uuid4().hex, "turn_id": "turn", "session_id": "session-1", "step": 1,
        "provider": "openai", "model": "gpt-4o-mini", "status": OK, "latency_ms": 1000,
        "first_token_ms": None if failed else 300, "tokens_in": None if failed else 100,
        "tokens_out": None if failed else 50, "retry_count": 0, "error_code": "", "error_message": "",
        "fallback_used": False, "prompt_sha256": sha256_hex("prompt"), "prompt_chars": 6,
        "reply_sha256": "" if failed else sha256_hex("reply"), "reply_chars": 0 if failed else 5,
    }
    return AIRequestRecord(**{**defaults, **fields})


def recovery(turn_id: str, step: int, strategy: RecoveryStrategy, success: bool, duration_ms: int,
             action: str = "") -> RecoveryRecord:
    return RecoveryRecord(turn_id, strategy, step, action or f"{strategy} #{step}", success, duration_ms)


def write(requests: Iterable[AIRequestRecord], recoveries: Iterable[RecoveryRecord] = (), *,
          hours_ago: float = 0) -> None:
    ai_log_write(requests=list(requests), recoveries=list(recoveries),
                 now=timezone.now() - timedelta(hours=hours_ago))


def build_dataset() -> dict[str, AIRequestRecord]:
    """Four turns in the last 24 hours and one 30 hours ago. Figures over the last 24 hours:

    requests 9: success 4, error 2, timeout 1, broken_stream 1, refused 1; turns 4, 2 with fallback
    latencies of the 8 sent requests: 300 350 800 1000 1200 1500 2000 2500 (avg 1206)
    first token: 100 200 300 400 500; tokens in 450, out 195
    """
    r = {
        "A1": record(turn_id="A", latency_ms=1000, first_token_ms=200, tokens_in=100, tokens_out=50),
        "B1": record(turn_id="B", status=ERROR, error_code="http_429", latency_ms=300,
                     error_message="Rate limit reached"),
        "B1b": record(turn_id="B", status=ERROR, error_code="http_429", latency_ms=350, retry_count=1,
                      error_message="Rate limit reached (retry)"),
        "B2": record(turn_id="B", latency_ms=1200, first_token_ms=400, tokens_in=100, tokens_out=60, retry_count=2),
        "C1": record(turn_id="C", status=TIMEOUT, error_code="timeout_first_token", latency_ms=2500,
                     fallback_used=True),
        "C2": record(turn_id="C", provider="anthropic", model="claude", latency_ms=2000, first_token_ms=500,
                     tokens_in=80, tokens_out=40, fallback_used=True),
        "D1": record(turn_id="D", status=REFUSED, latency_ms=0, fallback_used=True),
        "D2": record(turn_id="D", provider="anthropic", status=BROKEN, error_code="broken_stream",
                     latency_ms=1500, first_token_ms=300, tokens_in=80, fallback_used=True),
        "D3": record(turn_id="D", provider="local", model="llama", latency_ms=800, first_token_ms=100,
                     tokens_in=90, tokens_out=45, fallback_used=True),
        "O1": record(turn_id="O", status=ERROR, error_code="http_500", latency_ms=5000),
    }
    write([r["A1"]], hours_ago=4)
    write([r["B1"], r["B1b"], r["B2"]],
          [recovery("B", 1, RETRY, False, 500), recovery("B", 2, RETRY, True, 1300)], hours_ago=3)
    write([r["C1"], r["C2"]], [recovery("C", 1, FALLBACK, True, 2100, "openai -> anthropic")], hours_ago=2)
    write([r["D1"], r["D2"], r["D3"]],
          [recovery("D", 1, FALLBACK, False, 1600), recovery("D", 2, FALLBACK, True, 900)], hours_ago=1)
    write([r["O1"]], [recovery("O", 1, FALLBACK, False, 100)], hours_ago=30)
    return r


@pytest.fixture
def dataset() -> dict[str, AIRequestRecord]:
    return build_dataset()


# --- Writing ----------------------------------------------------------------------------------

def test_a_write_stores_every_field_of_the_record():
    sent = record(turn_id="T", step=3, status=ERROR, error_code="http_503", error_message="Service unavailable",
                  latency_ms=420, first_token_ms=None, retry_count=1, fallback_used=True)
    ai_log_write(requests=[sent], recoveries=[recovery("T", 1, RETRY, False, 250, "retry openai after 0.5 s")])
    row = AIRequestLog.objects.get(request_id=sent.request_id)
    for field in dataclasses.fields(AIRequestRecord):
        assert getattr(row, field.name) == getattr(sent, field.name), field.name
    attempt = AIRecoveryAttempt.objects.get(turn_id="T")
    assert (attempt.strategy, attempt.step, attempt.action, attempt.success, attempt.duration_ms) == (
        "retry", 1, "retry openai after 0.5 s", False, 250)
    assert attempt.created_at == row.created_at


def test_no_prompt_or_reply_text_is_stored_only_hashes_and_lengths():
    prompt = "Escribe la biografía de Las Hermanas Lumbre, dúo de cumbia psicodélica de Valparaíso"
    reply = "Las Hermanas Lumbre mezclan cumbia y psicodelia desde 2019."
    sent = record(prompt_sha256=sha256_hex(prompt), prompt_chars=len(prompt),
                  reply_sha256=sha256_hex(reply), reply_chars=len(reply))
    ai_log_write(requests=[sent], recoveries=[])
    stored = AIRequestLog.objects.filter(request_id=sent.request_id).values().get()
    texts = [value for value in stored.values() if isinstance(value, str)]
    assert not any(prompt in text or reply in text or "Lumbre" in text for text in texts)
    assert stored["prompt_sha256"] == sha256_hex(prompt) and stored["prompt_chars"] == len(prompt)
    assert stored["reply_sha256"] == sha256_hex(reply) and stored["reply_chars"] == len(reply)
    assert not {"prompt", "reply", "prompt_text", "reply_text"} & {f.name for f in AIRequestLog._meta.fields}


def test_a_long_error_message_is_cut_to_500_characters():
    sent = record(status=ERROR, error_code="http_400", error_message="x" * 2000)
    ai_log_write(requests=[sent], recoveries=[])
    assert len(AIRequestLog.objects.get().error_message) == 500


def test_a_write_is_all_or_nothing():
    first = record(status=ERROR, error_code="http_429")
    ai_log_write(requests=[first], recoveries=[])
    again = [record(status=ERROR, error_code="http_500"), first]  # the second repeats a logged request id
    with pytest.raises(IntegrityError):
        ai_log_write(requests=again, recoveries=[recovery("turn", 1, RETRY, True, 10)])
    assert AIRequestLog.objects.count() == 1
    assert not AIRecoveryAttempt.objects.exists()
    assert list(AIErrorPattern.objects.values_list("key", "occurrences")) == [("openai:http_429", 1)]


def test_an_empty_write_writes_nothing():
    ai_log_write(requests=[], recoveries=[])
    assert not AIRequestLog.objects.exists() and not AIRecoveryAttempt.objects.exists()


# --- Error patterns ---------------------------------------------------------------------------

def test_failures_are_counted_in_patterns_by_provider_and_code():
    write([record(status=ERROR, error_code="http_429"), record(status=ERROR, error_code="http_429"),
           record(provider="anthropic", status=ERROR, error_code="http_429"),
           record(status=REFUSED), record()])
    patterns = {p.key: p for p in AIErrorPattern.objects.all()}
    assert set(patterns) == {"openai:http_429", "anthropic:http_429", "openai:refused"}  # success: none
    rate_limited = patterns["openai:http_429"]
    assert (rate_limited.provider, rate_limited.error_code, rate_limited.occurrences) == ("openai", "http_429", 2)
    assert rate_limited.resolution_status == "open"
    assert "Rate limited" in rate_limited.probable_cause and "Retry-After" in rate_limited.suggested_action
    assert "circuit breaker" in patterns["openai:refused"].probable_cause


def test_a_pattern_counts_up_and_keeps_its_first_sighting():
    write([record(status=ERROR, error_code="http_500")], hours_ago=5)
    first = AIErrorPattern.objects.get()
    write([record(status=ERROR, error_code="http_500"), record(status=ERROR, error_code="http_500")], hours_ago=1)
    pattern = AIErrorPattern.objects.get()
    assert pattern.occurrences == 3
    assert pattern.first_seen == first.first_seen
    assert pattern.last_seen - first.last_seen > timedelta(hours=3, minutes=59)


def test_an_older_batch_does_not_move_last_seen_back():
    write([record(status=ERROR, error_code="http_500")], hours_ago=1)
    last_seen = AIErrorPattern.objects.get().last_seen
    write([record(status=ERROR, error_code="http_500")], hours_ago=6)
    pattern = AIErrorPattern.objects.get()
    assert pattern.occurrences == 2 and pattern.last_seen == last_seen


@pytest.mark.parametrize(("before", "after"), [
    ("resolved", "open"),
    ("investigating", "investigating"),
    ("ignored", "ignored"),
    ("open", "open"),
])
def test_a_resolved_pattern_that_recurs_is_open_again(before, after):
    write([record(status=TIMEOUT, error_code="timeout_total")])
    AIErrorPattern.objects.update(resolution_status=before, notes="raised the timeout")
    write([record(status=TIMEOUT, error_code="timeout_total")])
    pattern = AIErrorPattern.objects.get()
    assert (pattern.resolution_status, pattern.occurrences, pattern.notes) == (after, 2, "raised the timeout")


def test_error_fix_gives_the_rule_and_the_patterns_figures(dataset):
    fix = ai_error_fix(code="http_429")
    assert fix["known"] and fix["error_code"] == "http_429"
    assert "Rate limited" in fix["probable_cause"] and "quota" in fix["suggested_action"]
    assert fix["occurrences"] == 2
    [pattern] = fix["patterns"]
    assert (pattern["key"], pattern["provider"], pattern["occurrences"], pattern["resolution_status"]) == (
        "openai:http_429", "openai", 2, "open")
    assert set(pattern) == {"key", "provider", "error_code", "occurrences", "first_seen", "last_seen",
                            "resolution_status", "notes"}


@pytest.mark.parametrize(("code", "words"), [
    ("http_401", "API key"), ("http_403", "API key"), ("http_503", "outage"), ("http_529", "outage"),
    ("http_599", "outage"), ("timeout_first_token", "AI_FIRST_TOKEN_TIMEOUT"), ("context_length", "too long"),
    ("broken_stream", "stream"), ("connection_error", "reached"), ("malformed_response", "parse"),
    ("refused", "breaker"),
])
def test_error_fix_knows_the_common_codes(db, code, words):
    fix = ai_error_fix(code=code)
    assert fix["known"] and words in fix["probable_cause"] + fix["suggested_action"]
    assert fix["occurrences"] == 0 and fix["patterns"] == []


def test_error_fix_falls_back_to_a_generic_suggestion(db):
    fix = ai_error_fix(code="something_new")
    assert not fix["known"] and fix["probable_cause"] == "Unclassified provider error."


# --- Selectors on the data set ----------------------------------------------------------------

def test_statistics(dataset):
    stats = ai_log_statistics(hours=24)
    assert stats["hours"] == 24 and stats["total"] == 9
    assert stats["by_status"] == {"success": 4, "error": 2, "timeout": 1, "broken_stream": 1, "refused": 1}
    assert stats["error_rate"] == 0.5556
    assert (stats["turns"], stats["fallback_rate"]) == (4, 0.5)
    assert stats["latency_ms"] == {"avg": 1206, "p50": 1000, "p95": 2500}
    assert stats["first_token_ms"] == {"avg": 300, "p50": 300, "p95": 500}
    assert (stats["tokens_in"], stats["tokens_out"]) == (450, 195)


def test_statistics_over_a_wider_window_take_in_older_rows(dataset):
    stats = ai_log_statistics(hours=48)
    assert stats["total"] == 10 and stats["by_status"]["error"] == 3 and stats["turns"] == 5
    assert stats["latency_ms"]["p95"] == 5000


def test_statistics_of_an_empty_window(db):
    stats = ai_log_statistics(hours=1)
    assert stats["total"] == 0 and stats["error_rate"] is None and stats["fallback_rate"] is None
    assert stats["latency_ms"] == {"avg": None, "p50": None, "p95": None}
    assert (stats["tokens_in"], stats["tokens_out"]) == (0, 0)


def test_providers(dataset):
    providers = ai_log_providers(hours=24)
    assert [p["provider"] for p in providers] == ["openai", "anthropic", "local"]
    openai, anthropic, local = providers
    assert openai == {
        "provider": "openai", "requests": 6, "successes": 2, "success_rate": 0.3333, "avg_latency_ms": 1070,
        "p95_latency_ms": 2500, "avg_first_token_ms": 300, "errors": 2, "timeouts": 1, "broken_streams": 0,
        "refused": 1,
    }
    assert (anthropic["requests"], anthropic["success_rate"], anthropic["broken_streams"]) == (2, 0.5, 1)
    assert (anthropic["avg_latency_ms"], anthropic["p95_latency_ms"], anthropic["avg_first_token_ms"]) == (
        1750, 2000, 400)
    assert (local["requests"], local["success_rate"], local["p95_latency_ms"], local["avg_first_token_ms"]) == (
        1, 1.0, 800, 100)


def test_errors_top(dataset):
    top = ai_log_errors_top(limit=10, hours=24)
    assert [(e["provider"], e["error_code"], e["count"]) for e in top] == [
        ("openai", "http_429", 2),
        ("anthropic", "broken_stream", 1),  # 1 h ago, same time as the next: by provider
        ("openai", "refused", 1),
        ("openai", "timeout_first_token", 1),  # 2 h ago
    ]
    assert top[0]["last_message"] == "Rate limit reached (retry)"
    assert [e["error_code"] for e in ai_log_errors_top(limit=1, hours=48)] == ["http_429"]
    assert ("openai", "http_500") in {(e["provider"], e["error_code"]) for e in ai_log_errors_top(limit=10, hours=48)}


def test_requests_slow(dataset):
    slow = ai_log_requests_slow(limit=3, hours=24)
    assert [row["request_id"] for row in slow] == [dataset[k].request_id for k in ("C1", "C2", "D2")]
    assert [row["latency_ms"] for row in slow] == [2500, 2000, 1500]
    assert ai_log_requests_slow(limit=1, hours=48)[0]["request_id"] == dataset["O1"].request_id


def test_recent(dataset):
    recent = ai_log_recent(limit=2)
    assert [row["request_id"] for row in recent] == [dataset["D3"].request_id, dataset["D2"].request_id]
    assert set(recent[0]) == {f.name for f in dataclasses.fields(AIRequestRecord)} | {"created_at"}
    assert len(ai_log_recent(limit=50)) == 10


def test_get_a_request_with_its_turns_recoveries(dataset):
    detail = ai_log_get(request_id=dataset["B2"].request_id)
    assert (detail["provider"], detail["status"], detail["retry_count"], detail["turn_id"]) == (
        "openai", "success", 2, "B")
    assert [(r["step"], r["strategy"], r["success"], r["duration_ms"]) for r in detail["recoveries"]] == [
        (1, "retry", False, 500), (2, "retry", True, 1300)]
    with pytest.raises(AIRequestLogUnknown):
        ai_log_get(request_id="nope")


def test_analysis_summary(dataset):
    AIErrorPattern.objects.filter(key="openai:refused").update(resolution_status=PatternResolution.IGNORED)
    summary = ai_log_analysis_summary(hours=24)
    assert (summary["total"], summary["error_rate"], summary["fallback_rate"]) == (9, 0.5556, 0.5)
    assert [(p["provider"], p["verdict"], p["success_rate"]) for p in summary["providers"]] == [
        ("openai", "failing", 0.3333), ("anthropic", "failing", 0.5), ("local", "healthy", 1.0)]
    assert [(p["key"], p["count"], p["occurrences"]) for p in summary["top_patterns"]] == [
        ("openai:http_429", 2, 2), ("anthropic:broken_stream", 1, 1), ("openai:timeout_first_token", 1, 1)]
    assert all(p["probable_cause"] and p["suggested_action"] for p in summary["top_patterns"])
    assert {r["strategy"]: (r["attempts"], r["successes"], r["success_rate"], r["avg_duration_ms"])
            for r in summary["recoveries"]} == {
        "retry": (2, 1, 0.5, 900), "fallback": (3, 2, 0.6667, 1533),
        "simplify": (0, 0, None, None), "cache": (0, 0, None, None), "template": (0, 0, None, None),
    }


def test_verdicts_follow_the_success_rate(db):
    write([record(provider="a") for _ in range(19)] + [record(provider="a", status=ERROR, error_code="http_500")])
    write([record(provider="b") for _ in range(8)] + [record(provider="b", status=TIMEOUT) for _ in range(2)])
    verdicts = {p["provider"]: p["verdict"] for p in ai_log_analysis_summary(hours=1)["providers"]}
    assert verdicts == {"a": "healthy", "b": "degraded"}  # 0.95 and 0.80


def test_selectors_refuse_an_empty_window(db):
    with pytest.raises(ValueError):
        ai_log_statistics(hours=0)


# --- Purge ------------------------------------------------------------------------------------

def _write_aged(days: float, turn_id: str) -> None:
    write([record(turn_id=turn_id)], [recovery(turn_id, 1, RETRY, True, 10)], hours_ago=days * 24)


def test_purge_deletes_requests_and_attempts_older_than_the_given_days():
    _write_aged(40, "old")
    _write_aged(29, "recent")
    _write_aged(0, "new")
    write([record(turn_id="old-error", status=ERROR, error_code="http_500")], hours_ago=40 * 24)
    assert ai_log_purge(older_than_days=30) == 2
    assert set(AIRequestLog.objects.values_list("turn_id", flat=True)) == {"recent", "new"}
    assert set(AIRecoveryAttempt.objects.values_list("turn_id", flat=True)) == {"recent", "new"}
    assert AIErrorPattern.objects.filter(key="openai:http_500").exists()  # patterns stay
    assert ai_log_purge(older_than_days=30) == 0


def test_purge_needs_at_least_one_day(db):
    with pytest.raises(ValueError):
        ai_log_purge(older_than_days=0)


def test_the_purge_task_uses_the_retention_setting(settings):
    settings.AI_LOG_RETENTION_DAYS = 7
    _write_aged(8, "old")
    _write_aged(6, "kept")
    assert ai_logs_purge() == 1
    assert list(AIRequestLog.objects.values_list("turn_id", flat=True)) == ["kept"]


def test_the_purge_is_scheduled_daily():
    entry = celery_app.conf.beat_schedule["ai-logs-purge"]
    assert entry == {"task": "resilience.tasks.ai_logs_purge", "schedule": 24 * 60 * 60}
    assert "resilience.tasks.ai_logs_purge" in celery_app.tasks
