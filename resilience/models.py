"""The breakers have no table: their state lives in Redis. `CircuitBreakerEntry` only gives the
admin a place for the breakers page, its permissions (view / change) and its log entries;
`ServiceStatus` does the same for the status dashboard.

The AI request log has three tables: `AIRequestLog`, `AIErrorPattern`, `AIRecoveryAttempt`."""
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from resilience.ai_records import RecoveryStrategy, RequestStatus


class CircuitBreakerEntry(models.Model):
    name = models.CharField(max_length=100, primary_key=True)

    class Meta:
        managed = False
        verbose_name = _("circuit breaker")
        verbose_name_plural = _("circuit breakers")

    def __str__(self) -> str:
        return self.name


class ServiceStatus(models.Model):
    """No table either: gives the admin the status dashboard (degradation level, breakers, AI
    figures, chaos drills), its permissions and a log of staff actions, one entry per `name`
    (`degradation`, `chaos:<provider>`)."""

    name = models.CharField(max_length=100, primary_key=True)

    class Meta:
        managed = False
        verbose_name = _("service status")
        # The leading space sorts the dashboard first in the admin's list of the app (the list is
        # sorted by this name; HTML collapses the space).
        verbose_name_plural = _(" Service status")

    def __str__(self) -> str:
        return self.name


# --- The AI request log --------------------------------------------------------------------------
# Written by `resilience.ai_log.ai_log_write` from the records the provider chain hands over
# (`resilience.ai_records`); read by the selectors there, the staff JSON API and the admin.


class AIRequestLog(models.Model):
    """One request to one provider. No artist content: the prompt and the reply are kept only as
    their SHA-256 and length."""

    request_id = models.CharField(_("request id"), max_length=64, unique=True)
    turn_id = models.CharField(_("turn id"), max_length=64, db_index=True)
    session_id = models.CharField(_("session id"), max_length=64, db_index=True)
    step = models.PositiveSmallIntegerField(_("step"), null=True, blank=True)
    provider = models.CharField(_("provider"), max_length=50)
    model = models.CharField(_("model"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20,
                              choices=[(status.value, status.value) for status in RequestStatus])
    latency_ms = models.PositiveIntegerField(_("latency ms"))
    first_token_ms = models.PositiveIntegerField(_("first token ms"), null=True, blank=True)
    tokens_in = models.PositiveIntegerField(_("tokens in"), null=True, blank=True)
    tokens_out = models.PositiveIntegerField(_("tokens out"), null=True, blank=True)
    retry_count = models.PositiveSmallIntegerField(_("retry count"), default=0)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_message = models.CharField(_("error message"), max_length=500, blank=True)
    fallback_used = models.BooleanField(_("fallback used"), default=False)
    prompt_sha256 = models.CharField(_("prompt sha256"), max_length=64, blank=True)
    prompt_chars = models.PositiveIntegerField(_("prompt chars"), default=0)
    reply_sha256 = models.CharField(_("reply sha256"), max_length=64, blank=True)
    reply_chars = models.PositiveIntegerField(_("reply chars"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("AI request")
        verbose_name_plural = _("AI request log")
        indexes = [
            models.Index(fields=["provider", "created_at"], name="ai_request_provider_created"),
            models.Index(fields=["status", "created_at"], name="ai_request_status_created"),
            models.Index(fields=["error_code"], name="ai_request_error_code"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=[status.value for status in RequestStatus]),
                                   name="ai_request_status_known"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.status} {self.request_id}"


class PatternResolution(models.TextChoices):
    OPEN = "open", _("Open")
    INVESTIGATING = "investigating", _("Investigating")
    RESOLVED = "resolved", _("Resolved")  # back to open if the error occurs again
    IGNORED = "ignored", _("Ignored")


class AIErrorPattern(models.Model):
    """Every failed request of one provider with one error code, counted, with what probably
    causes it and what to do. Staff track it through `resolution_status` and `notes`."""

    Resolution = PatternResolution

    key = models.CharField(_("key"), max_length=120, unique=True)  # "<provider>:<error code>", e.g. "openai:http_429"
    provider = models.CharField(_("provider"), max_length=50)
    error_code = models.CharField(_("error code"), max_length=64)
    occurrences = models.PositiveIntegerField(_("occurrences"), default=0)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"), db_index=True)
    probable_cause = models.CharField(_("probable cause"), max_length=300)
    suggested_action = models.CharField(_("suggested action"), max_length=500)
    resolution_status = models.CharField(_("resolution status"), max_length=20, choices=Resolution.choices,
                                         default=Resolution.OPEN)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = _("AI error pattern")
        verbose_name_plural = _("AI error patterns")
        constraints = [
            models.CheckConstraint(condition=models.Q(resolution_status__in=PatternResolution.values),
                                   name="ai_error_pattern_resolution_known"),
        ]

    def __str__(self) -> str:
        return self.key


class AIRecoveryAttempt(models.Model):
    """One recovery step the provider chain took during a turn (retry, simplify, fallback…)."""

    turn_id = models.CharField(_("turn id"), max_length=64, db_index=True)
    strategy = models.CharField(_("strategy"), max_length=20,
                                choices=[(strategy.value, strategy.value) for strategy in RecoveryStrategy])
    step = models.PositiveSmallIntegerField(_("step"))  # 1, 2, 3… in the order taken within the turn
    action = models.CharField(_("action"), max_length=200)
    success = models.BooleanField(_("success"))
    duration_ms = models.PositiveIntegerField(_("duration ms"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "turn_id", "step"]
        verbose_name = _("AI recovery attempt")
        verbose_name_plural = _("AI recovery attempts")
        constraints = [
            models.CheckConstraint(condition=models.Q(strategy__in=[strategy.value for strategy in RecoveryStrategy]),
                                   name="ai_recovery_strategy_known"),
        ]

    def __str__(self) -> str:
        return f"{self.turn_id} #{self.step} {self.strategy}"


# --- Queue for later -----------------------------------------------------------------------------
# Written and read by `resilience.queue`; drained by `resilience.drain` and the Celery tasks.


class QueuedJob(models.Model):
    """Work that failed and can wait. The database is the source of truth: Celery only carries a
    job's id to a worker, which claims the row (status, lease) before it runs the work."""

    class Priority(models.IntegerChoices):
        HIGH = 0, _("high")
        MEDIUM = 1, _("medium")
        LOW = 2, _("low")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")  # waits for its time and its dependency
        RUNNING = "running", _("running")  # a worker (or the request that queued it) holds its lease
        DONE = "done", _("done")
        FAILED = "failed", _("failed")  # the last attempt failed; retried at next_attempt_at
        DEAD = "dead", _("dead")  # out of attempts: staff decide (requeue or discard)
        DISCARDED = "discarded", _("discarded")  # staff set it aside; kept for the record

    job_type = models.CharField(_("job type"), max_length=64, db_index=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveIntegerField(_("max attempts"), default=8)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # Handed to a worker (dispatched or running) until then; after it, the job is free again.
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    # Who holds it while RUNNING: a new token per claim, so only that claim can finish it.
    holder = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)  # error type and status only: no artist content
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    dependency = models.CharField(_("dependency"), max_length=100)  # the breaker (or gate) it waits on
    owner = models.CharField(_("owner"), max_length=100, blank=True, db_index=True)  # e.g. presskit:<uuid>
    result = models.JSONField(_("result"), null=True, blank=True)  # a short summary of what the run did
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["priority", "next_attempt_at", "id"]
        indexes = [models.Index(fields=["status", "dependency", "priority", "next_attempt_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(attempts__lte=models.F("max_attempts")),
                                   name="queued_job_attempts_within_max"),
        ]
        verbose_name = _("queued job")
        verbose_name_plural = _("queued jobs")

    def __str__(self) -> str:
        return f"{self.job_type} #{self.pk}"
