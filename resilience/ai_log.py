"""The AI request log: the write the provider chain calls after each turn, the error rules that
explain each failure, and the reads staff see through the admin and the JSON API.

Conventions of the figures:
- a time window of `hours` ends now; rows with `created_at` inside it count;
- rates are ratios from 0 to 1 (None when there is nothing to divide by);
- latencies are milliseconds; requests the breaker refused were never sent, so they are left out
  of latency figures (they count everywhere else);
- percentiles use the nearest-rank method (always an observed value) and are computed in a
  portable way: the database sorts the window and returns the one row at the rank;
- the fallback rate is per turn: the share of turns whose reply did not come from the first
  provider (the chain marks every request of such a turn).
"""
from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from django.db import IntegrityError, transaction
from django.db.models import Avg, Case, CharField, Count, F, Max, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from resilience.ai_records import AIRequestRecord, RecoveryRecord, RecoveryStrategy, RequestStatus
from resilience.models import AIErrorPattern, AIRecoveryAttempt, AIRequestLog, PatternResolution

logger = logging.getLogger(__name__)

ERROR_MESSAGE_MAX_CHARS = 500


class AIRequestLogUnknown(LookupError):
    """No logged AI request has this id."""


# --- Error rules: what an error code probably means, and what to do -----------------------------

@dataclass(frozen=True)
class ErrorRule:
    probable_cause: str
    suggested_action: str


_INVALID_KEY = ErrorRule(
    "Invalid or missing API key, or the key lacks access to the model.",
    "Check the provider's API key setting (e.g. OPENAI_API_KEY / ANTHROPIC_API_KEY) and the "
    "key's permissions in the provider's console.",
)
_OUTAGE = ErrorRule(
    "Provider outage or overload on the provider's side.",
    "Nothing to change here: the circuit breaker opens and the chain fails over to the next "
    "provider. Check the provider's status page; if it lasts, reorder AI_PROVIDER_CHAIN.",
)
_SLOW = ErrorRule(
    "Slow provider: the answer did not start or finish within its deadline.",
    "Consider lowering the load on this provider, or raising AI_FIRST_TOKEN_TIMEOUT / "
    "AI_TOTAL_TIMEOUT if the provider is just slow today.",
)

# Keyed by error code; `http_4xx` / `http_5xx` cover the HTTP codes not named on their own.
ERROR_RULES: Mapping[str, ErrorRule] = {
    "http_400": ErrorRule(
        "The provider rejected the request as malformed (bad parameter or model option).",
        "Check the model name and request options sent to this provider; see the error message.",
    ),
    "http_401": _INVALID_KEY,
    "http_403": _INVALID_KEY,
    "http_404": ErrorRule(
        "Unknown model or endpoint.",
        "Check the model setting (e.g. OPENAI_MODEL) and the provider's base URL setting.",
    ),
    "http_429": ErrorRule(
        "Rate limited: requests or tokens per minute above the account's quota.",
        "The chain honours Retry-After and fails over meanwhile; if it recurs, raise the quota "
        "with the provider or spread the load over more providers.",
    ),
    "http_500": _OUTAGE,
    "http_502": _OUTAGE,
    "http_503": _OUTAGE,
    "http_504": _OUTAGE,
    "http_529": _OUTAGE,
    "http_4xx": ErrorRule(
        "The provider refused the request (client error).",
        "Read the error message; check the API key, model name and request options.",
    ),
    "http_5xx": _OUTAGE,
    "timeout": _SLOW,
    "timeout_first_token": _SLOW,
    "timeout_total": _SLOW,
    "timeout_stream_idle": ErrorRule(
        "The stream stalled mid-reply: no token within AI_STREAM_IDLE_TIMEOUT seconds of the last.",
        "The chain fails over to the next provider at once. If it recurs, the provider is overloaded "
        "or something on the network path holds the stream (a proxy buffering it); raise "
        "AI_STREAM_IDLE_TIMEOUT only if this provider pauses that long on purpose.",
    ),
    "broken_stream": ErrorRule(
        "The stream ended without its terminal event (connection dropped mid-reply).",
        "Usually a network or provider hiccup: the chain retries or fails over. If frequent, "
        "check the network path (proxies, load balancer idle timeouts).",
    ),
    "context_length": ErrorRule(
        "Prompt too long for the model's context window.",
        "The simplify strategy retries with a shorter prompt; if it recurs, shorten the prompt "
        "templates or choose a model with a larger context.",
    ),
    "connection_error": ErrorRule(
        "The provider could not be reached (DNS, TLS, refused connection or network down).",
        "Check the provider's base URL setting and outbound network access from the servers.",
    ),
    "malformed_response": ErrorRule(
        "The provider answered with something the client could not parse.",
        "Check that the base URL points at a compatible API and the SDK version matches it.",
    ),
    "refused": ErrorRule(
        "Not sent: the provider's circuit breaker was open after repeated failures.",
        "Look at the errors that opened the breaker (the other patterns of this provider); the "
        "breaker probes the provider again by itself. Staff can reset it on the breakers page.",
    ),
}
DEFAULT_ERROR_RULE = ErrorRule(
    "Unclassified provider error.",
    "Read the error messages of the matching requests and the provider's status page.",
)


def error_rule_for(code: str) -> ErrorRule:
    """The rule for an error code: its own, its HTTP family's, or the generic default."""
    if rule := ERROR_RULES.get(code):
        return rule
    if code.startswith("http_") and len(code) == 8:
        if rule := ERROR_RULES.get(f"http_{code[5]}xx"):
            return rule
    return DEFAULT_ERROR_RULE


def _error_key(provider: str, code: str) -> str:
    return f"{provider}:{code}"


def _code_of(record: AIRequestRecord) -> str:
    """The code a failure is grouped by: its error code, else its status (e.g. "refused")."""
    return record.error_code or str(record.status)


# --- Writes -----------------------------------------------------------------------------------

def ai_log_write(
    *,
    requests: Sequence[AIRequestRecord],
    recoveries: Sequence[RecoveryRecord],
    now: datetime | None = None,
) -> None:
    """Record one turn's requests and recovery steps, and count each failure in its pattern.

    One transaction: all of it is written or none. A request id already logged raises
    IntegrityError (a caller writing the same turn twice is a bug, not something to hide).
    `now` (default: the current time) stamps every row; tests pass it to place rows in time.
    """
    if not requests and not recoveries:
        return
    at = now or timezone.now()
    failures = Counter(
        (record.provider, _code_of(record)) for record in requests if record.status != RequestStatus.SUCCESS
    )
    with transaction.atomic():
        AIRequestLog.objects.bulk_create([_log_row(record, at) for record in requests])
        AIRecoveryAttempt.objects.bulk_create([
            AIRecoveryAttempt(
                turn_id=recovery.turn_id,
                strategy=str(recovery.strategy),
                step=recovery.step,
                action=recovery.action[:200],
                success=recovery.success,
                duration_ms=max(recovery.duration_ms, 0),
                created_at=at,
            )
            for recovery in recoveries
        ])
        for (provider, code), count in sorted(failures.items()):
            _error_pattern_count(provider=provider, code=code, count=count, at=at)


def _log_row(record: AIRequestRecord, at: datetime) -> AIRequestLog:
    return AIRequestLog(
        request_id=record.request_id,
        turn_id=record.turn_id,
        session_id=record.session_id,
        step=record.step,
        provider=record.provider,
        model=record.model,
        status=str(record.status),
        latency_ms=max(record.latency_ms, 0),
        first_token_ms=record.first_token_ms,
        tokens_in=record.tokens_in,
        tokens_out=record.tokens_out,
        retry_count=record.retry_count,
        error_code=record.error_code,
        error_message=record.error_message[:ERROR_MESSAGE_MAX_CHARS],
        fallback_used=record.fallback_used,
        prompt_sha256=record.prompt_sha256,
        prompt_chars=record.prompt_chars,
        reply_sha256=record.reply_sha256,
        reply_chars=record.reply_chars,
        created_at=at,
    )


def _error_pattern_count(*, provider: str, code: str, count: int, at: datetime) -> None:
    """Add `count` occurrences to the pattern, creating it the first time. Safe against a
    concurrent writer: increments are done by the database (F), and a lost race to create the
    row falls back to incrementing the winner's row. A resolved pattern that recurs is open again."""
    key = _error_key(provider, code)
    rule = error_rule_for(code)
    increment = {
        "occurrences": F("occurrences") + count,
        "last_seen": Greatest(F("last_seen"), Value(at)),
        "probable_cause": rule.probable_cause,
        "suggested_action": rule.suggested_action,
        "resolution_status": Case(
            When(resolution_status=PatternResolution.RESOLVED, then=Value(PatternResolution.OPEN.value)),
            default=F("resolution_status"),
        ),
    }
    if AIErrorPattern.objects.filter(key=key).update(**increment):
        return
    try:
        with transaction.atomic():  # a savepoint: a lost race must not spoil the caller's transaction
            AIErrorPattern.objects.create(
                key=key, provider=provider, error_code=code, occurrences=count, first_seen=at, last_seen=at,
                probable_cause=rule.probable_cause, suggested_action=rule.suggested_action,
            )
    except IntegrityError:
        AIErrorPattern.objects.filter(key=key).update(**increment)


def ai_log_purge(*, older_than_days: int) -> int:
    """Delete the requests and recovery attempts logged more than `older_than_days` days ago.
    Returns how many requests were deleted. Error patterns stay: they are small, aggregated and
    hold staff notes."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    with transaction.atomic():
        requests, _ = AIRequestLog.objects.filter(created_at__lt=cutoff).delete()
        attempts, _ = AIRecoveryAttempt.objects.filter(created_at__lt=cutoff).delete()
    logger.info("AI request log purged: %d requests and %d recovery attempts older than %d days",
                requests, attempts, older_than_days)
    return requests


# --- Reads: shapes ----------------------------------------------------------------------------

class AIRequestRow(TypedDict):
    request_id: str
    turn_id: str
    session_id: str
    step: int | None
    provider: str
    model: str
    status: str
    latency_ms: int
    first_token_ms: int | None
    tokens_in: int | None
    tokens_out: int | None
    retry_count: int
    error_code: str
    error_message: str
    fallback_used: bool
    prompt_sha256: str
    prompt_chars: int
    reply_sha256: str
    reply_chars: int
    created_at: datetime


ROW_FIELDS = tuple(AIRequestRow.__annotations__)


class RecoveryRow(TypedDict):
    turn_id: str
    strategy: str
    step: int
    action: str
    success: bool
    duration_ms: int
    created_at: datetime


class AIRequestDetail(AIRequestRow):
    recoveries: list[RecoveryRow]  # the recovery steps of the request's turn, in order


class LatencyFigures(TypedDict):
    avg: int | None
    p50: int | None
    p95: int | None


class AIStatistics(TypedDict):
    hours: int
    since: datetime
    total: int
    by_status: dict[str, int]  # every status, zeros included
    error_rate: float | None  # requests not successful / all requests
    turns: int
    fallback_rate: float | None  # turns answered by a fallback provider / turns
    latency_ms: LatencyFigures
    first_token_ms: LatencyFigures
    tokens_in: int
    tokens_out: int


class ProviderFigures(TypedDict):
    provider: str
    requests: int
    successes: int
    success_rate: float | None
    avg_latency_ms: int | None
    p95_latency_ms: int | None
    avg_first_token_ms: int | None
    errors: int  # status "error": the provider answered with an error
    timeouts: int
    broken_streams: int
    refused: int  # not sent: the breaker was open


class ErrorCount(TypedDict):
    provider: str
    error_code: str
    count: int
    last_seen: datetime
    last_message: str


class PatternFigures(TypedDict):
    key: str
    provider: str
    error_code: str
    occurrences: int  # since the pattern was first seen
    first_seen: datetime
    last_seen: datetime
    resolution_status: str
    notes: str


class PatternSummary(TypedDict):
    key: str
    provider: str
    error_code: str
    count: int  # within the window
    occurrences: int  # since first seen
    resolution_status: str
    probable_cause: str
    suggested_action: str


class ProviderHealth(TypedDict):
    provider: str
    verdict: str
    requests: int
    success_rate: float | None
    p95_latency_ms: int | None
    timeouts: int
    refused: int


class StrategyFigures(TypedDict):
    strategy: str
    attempts: int
    successes: int
    success_rate: float | None
    avg_duration_ms: int | None


class AnalysisSummary(TypedDict):
    hours: int
    since: datetime
    total: int
    error_rate: float | None
    fallback_rate: float | None
    providers: list[ProviderHealth]
    top_patterns: list[PatternSummary]  # the window's most frequent failures, ignored patterns left out
    recoveries: list[StrategyFigures]  # every strategy, in the chain's order


class ErrorFix(TypedDict):
    error_code: str
    known: bool  # False when only the generic default applies
    probable_cause: str
    suggested_action: str
    occurrences: int  # over every provider's pattern of this code
    patterns: list[PatternFigures]


# A provider's verdict on the window's success rate: the first rule it reaches wins.
@dataclass(frozen=True)
class HealthRule:
    verdict: str
    min_success_rate: float


HEALTH_RULES: Sequence[HealthRule] = (
    HealthRule("healthy", 0.95),
    HealthRule("degraded", 0.80),
    HealthRule("failing", 0.0),
)


# --- Reads: helpers ---------------------------------------------------------------------------

def _since(hours: int) -> datetime:
    if hours < 1:
        raise ValueError("hours must be at least 1")
    return timezone.now() - timedelta(hours=hours)


def _window(hours: int) -> tuple[datetime, QuerySet[AIRequestLog]]:
    since = _since(hours)
    return since, AIRequestLog.objects.filter(created_at__gte=since)


def _sent(queryset: QuerySet[AIRequestLog]) -> QuerySet[AIRequestLog]:
    return queryset.exclude(status=RequestStatus.REFUSED)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)


def _percentile(queryset: QuerySet, field: str, percent: float) -> int | None:
    """Nearest-rank percentile of a column over a queryset: the database sorts, one row comes back."""
    values = queryset.filter(**{f"{field}__isnull": False}).order_by(field).values_list(field, flat=True)
    count = values.count()
    if not count:
        return None
    return values[max(math.ceil(percent / 100 * count), 1) - 1]


def _latency(queryset: QuerySet, field: str) -> LatencyFigures:
    return {
        "avg": _ms(queryset.aggregate(value=Avg(field))["value"]),
        "p50": _percentile(queryset, field, 50),
        "p95": _percentile(queryset, field, 95),
    }


_ERROR_CODE = Case(When(error_code="", then=F("status")), default=F("error_code"), output_field=CharField())


def _error_counts(queryset: QuerySet[AIRequestLog], limit: int) -> list[ErrorCount]:
    groups = (
        queryset.exclude(status=RequestStatus.SUCCESS)
        .annotate(code=_ERROR_CODE)
        .values("provider", "code")
        .annotate(count=Count("id"), last_seen=Max("created_at"))
        .order_by("-count", "-last_seen", "provider", "code")[:limit]
    )
    counts: list[ErrorCount] = []
    for group in groups:
        last = (
            queryset.annotate(code=_ERROR_CODE)
            .filter(provider=group["provider"], code=group["code"])
            .order_by("-created_at", "-id")
            .values_list("error_message", flat=True)
            .first()
        )
        counts.append({
            "provider": group["provider"], "error_code": group["code"], "count": group["count"],
            "last_seen": group["last_seen"], "last_message": last or "",
        })
    return counts


def _rows(queryset: QuerySet[AIRequestLog]) -> list[AIRequestRow]:
    return list(queryset.values(*ROW_FIELDS))


# --- Reads ------------------------------------------------------------------------------------

def ai_log_recent(*, limit: int) -> list[AIRequestRow]:
    """The latest requests, newest first."""
    return _rows(AIRequestLog.objects.order_by("-created_at", "-id")[:limit])


def ai_log_requests_slow(*, limit: int, hours: int) -> list[AIRequestRow]:
    """The window's slowest requests, slowest first."""
    _, window = _window(hours)
    return _rows(window.order_by("-latency_ms", "-created_at")[:limit])


def ai_log_get(*, request_id: str) -> AIRequestDetail:
    rows = _rows(AIRequestLog.objects.filter(request_id=request_id))
    if not rows:
        raise AIRequestLogUnknown(request_id)
    row = rows[0]
    recoveries = list(
        AIRecoveryAttempt.objects.filter(turn_id=row["turn_id"]).order_by("step", "created_at", "id")
        .values(*RecoveryRow.__annotations__)
    )
    return {**row, "recoveries": recoveries}


def ai_log_statistics(*, hours: int) -> AIStatistics:
    since, window = _window(hours)
    figures = window.aggregate(
        total=Count("id"),
        turns=Count("turn_id", distinct=True),
        fallback_turns=Count("turn_id", distinct=True, filter=Q(fallback_used=True)),
        tokens_in=Sum("tokens_in"),
        tokens_out=Sum("tokens_out"),
        **{status.value: Count("id", filter=Q(status=status)) for status in RequestStatus},
    )
    total = figures["total"]
    by_status = {status.value: figures[status.value] for status in RequestStatus}
    sent = _sent(window)
    return {
        "hours": hours,
        "since": since,
        "total": total,
        "by_status": by_status,
        "error_rate": _ratio(total - by_status[RequestStatus.SUCCESS], total),
        "turns": figures["turns"],
        "fallback_rate": _ratio(figures["fallback_turns"], figures["turns"]),
        "latency_ms": _latency(sent, "latency_ms"),
        "first_token_ms": _latency(sent, "first_token_ms"),
        "tokens_in": figures["tokens_in"] or 0,
        "tokens_out": figures["tokens_out"] or 0,
    }


def ai_log_providers(*, hours: int) -> list[ProviderFigures]:
    """Each provider that had requests in the window, busiest first."""
    _, window = _window(hours)
    groups = (
        window.values("provider")
        .annotate(
            requests=Count("id"),
            successes=Count("id", filter=Q(status=RequestStatus.SUCCESS)),
            errors=Count("id", filter=Q(status=RequestStatus.ERROR)),
            timeouts=Count("id", filter=Q(status=RequestStatus.TIMEOUT)),
            broken_streams=Count("id", filter=Q(status=RequestStatus.BROKEN_STREAM)),
            refused=Count("id", filter=Q(status=RequestStatus.REFUSED)),
            avg_latency=Avg("latency_ms", filter=~Q(status=RequestStatus.REFUSED)),
            avg_first_token=Avg("first_token_ms", filter=~Q(status=RequestStatus.REFUSED)),
        )
        .order_by("-requests", "provider")
    )
    return [
        {
            "provider": group["provider"],
            "requests": group["requests"],
            "successes": group["successes"],
            "success_rate": _ratio(group["successes"], group["requests"]),
            "avg_latency_ms": _ms(group["avg_latency"]),
            "p95_latency_ms": _percentile(_sent(window.filter(provider=group["provider"])), "latency_ms", 95),
            "avg_first_token_ms": _ms(group["avg_first_token"]),
            "errors": group["errors"],
            "timeouts": group["timeouts"],
            "broken_streams": group["broken_streams"],
            "refused": group["refused"],
        }
        for group in groups
    ]


def ai_log_errors_top(*, limit: int, hours: int) -> list[ErrorCount]:
    """The window's most frequent failures, by provider and error code (or status, when the
    failure has no code, e.g. "refused")."""
    _, window = _window(hours)
    return _error_counts(window, limit)


def _verdict(success_rate: float | None) -> str:
    rate = success_rate or 0.0
    return next(rule.verdict for rule in HEALTH_RULES if rate >= rule.min_success_rate)


def ai_log_analysis_summary(*, hours: int, top: int = 10) -> AnalysisSummary:
    """A health verdict per provider, the top error patterns with their cause and action, and
    how well each recovery strategy worked, over the window."""
    since, window = _window(hours)
    statistics = ai_log_statistics(hours=hours)
    providers: list[ProviderHealth] = [
        {
            "provider": figures["provider"],
            "verdict": _verdict(figures["success_rate"]),
            "requests": figures["requests"],
            "success_rate": figures["success_rate"],
            "p95_latency_ms": figures["p95_latency_ms"],
            "timeouts": figures["timeouts"],
            "refused": figures["refused"],
        }
        for figures in ai_log_providers(hours=hours)
    ]

    ignored = set(
        AIErrorPattern.objects.filter(resolution_status=PatternResolution.IGNORED).values_list("key", flat=True)
    )
    counts = [
        count for count in _error_counts(window, top + len(ignored))
        if _error_key(count["provider"], count["error_code"]) not in ignored
    ][:top]
    patterns = AIErrorPattern.objects.in_bulk(
        [_error_key(count["provider"], count["error_code"]) for count in counts], field_name="key"
    )
    top_patterns: list[PatternSummary] = []
    for count in counts:
        key = _error_key(count["provider"], count["error_code"])
        rule = error_rule_for(count["error_code"])
        pattern = patterns.get(key)
        top_patterns.append({
            "key": key,
            "provider": count["provider"],
            "error_code": count["error_code"],
            "count": count["count"],
            "occurrences": pattern.occurrences if pattern else count["count"],
            "resolution_status": pattern.resolution_status if pattern else PatternResolution.OPEN.value,
            "probable_cause": rule.probable_cause,
            "suggested_action": rule.suggested_action,
        })

    attempts = {
        group["strategy"]: group
        for group in AIRecoveryAttempt.objects.filter(created_at__gte=since)
        .values("strategy")
        .annotate(attempts=Count("id"), successes=Count("id", filter=Q(success=True)), duration=Avg("duration_ms"))
        .order_by()
    }
    recoveries: list[StrategyFigures] = []
    for strategy in RecoveryStrategy:
        group = attempts.get(strategy.value, {"attempts": 0, "successes": 0, "duration": None})
        recoveries.append({
            "strategy": strategy.value,
            "attempts": group["attempts"],
            "successes": group["successes"],
            "success_rate": _ratio(group["successes"], group["attempts"]),
            "avg_duration_ms": _ms(group["duration"]),
        })

    return {
        "hours": hours,
        "since": since,
        "total": statistics["total"],
        "error_rate": statistics["error_rate"],
        "fallback_rate": statistics["fallback_rate"],
        "providers": providers,
        "top_patterns": top_patterns,
        "recoveries": recoveries,
    }


def ai_error_fix(*, code: str) -> ErrorFix:
    """The rules table's suggestion for an error code, with what the log has seen of it."""
    rule = error_rule_for(code)
    patterns: list[PatternFigures] = list(
        AIErrorPattern.objects.filter(error_code=code).order_by("-occurrences", "key")
        .values(*PatternFigures.__annotations__)
    )
    return {
        "error_code": code,
        "known": rule is not DEFAULT_ERROR_RULE,
        "probable_cause": rule.probable_cause,
        "suggested_action": rule.suggested_action,
        "occurrences": sum(pattern["occurrences"] for pattern in patterns),
        "patterns": patterns,
    }
