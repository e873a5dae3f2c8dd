"""The status dashboard, the first page staff open during an incident: the degradation level
and its recent changes, every breaker, the AI figures of the last 24 hours and the chaos drills,
with the hand controls (force or release a level, start or stop a drill), and the queued jobs
counted by status. Its read-only parts (the level and when it can be back to OPTIMAL, its
changes, the breakers and their next probes) refresh themselves from live/ every few seconds.

The breakers page for staff: every breaker's state and counts, and the hand controls
(reset, force open, force closed). Actions need the change permission and are logged.

Then the AI request log: requests and recovery attempts read-only (the last 24 hours' figures
above the requests list), error patterns with an editable resolution status and notes.

Last the queue for later: the jobs read-only, and the staff actions (retry now, requeue dead
jobs, discard), each logged per job.

What staff read speaks their language (Spanish by default, locale/); what is stored (levels'
and breakers' reasons, admin log messages) stays in English, as the logs do."""
from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_lazy

from resilience import ai_log, breakers, chaos, degradation, queue
from resilience.degradation import DegradationStoreUnavailable, Level
from resilience.health import configured_ai_providers
from resilience.machine import Snapshot, State
from resilience.models import (
    AIErrorPattern, AIRecoveryAttempt, AIRequestLog, CircuitBreakerEntry, QueuedJob, ServiceStatus,
)
from resilience.store import REDIS_TROUBLE

logger = logging.getLogger(__name__)


def _at(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if ms else None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _due(at_ms: int | None, now_ms: int) -> dict | None:
    """A moment to come as the pages show it: the time, and the seconds left (0: due already)."""
    if at_ms is None:
        return None
    return {"at": _at(at_ms), "seconds": max(0, math.ceil((at_ms - now_ms) / 1000))}


def _breaker_rows(snapshots: list[Snapshot]) -> list[dict]:
    now_ms = _now_ms()
    return [
        {
            "snapshot": snapshot,
            "changed_at": _at(snapshot.changed_at_ms),
            "forced": snapshot.state in (State.FORCED_OPEN, State.FORCED_CLOSED),
            "next_probe": _due(breakers.next_probe_at_ms(snapshot), now_ms),
        }
        for snapshot in snapshots
    ]


def _shared(rows: list[dict]) -> bool:
    """Whether the breakers were read from Redis (the `redis` breaker is always this process's)."""
    return all(row["snapshot"].shared for row in rows if row["snapshot"].name != "redis")


# --- The status dashboard -------------------------------------------------------------------------

DASHBOARD_HOURS = 24  # the window of the AI figures
LIVE_SECONDS = 5  # how often the dashboard's read-only parts (level, level changes, breakers) refresh
TIMELINE_LENGTH = 20  # level changes shown
DEGRADATION = "degradation"  # the ServiceStatus name the level's actions are logged on
REASON_MAX_CHARS = 200
# The queued jobs counted on the dashboard (done: in total, as done jobs are kept).
DASHBOARD_JOB_STATUSES = (QueuedJob.Status.PENDING, QueuedJob.Status.RUNNING, QueuedJob.Status.FAILED,
                          QueuedJob.Status.DEAD, QueuedJob.Status.DONE)


def drill_status_name(provider: str) -> str:
    """The ServiceStatus name a provider's drills are logged on."""
    return f"chaos:{provider}"


def status_names() -> list[str]:
    return [DEGRADATION, *(drill_status_name(provider) for provider in chaos.PROVIDERS)]


class ForceLevelForm(forms.Form):
    level = forms.TypedChoiceField(
        label=gettext_lazy("Force level"),
        choices=[("", gettext_lazy("— choose —")), *((int(level), level.label.upper()) for level in Level)],
        coerce=lambda value: Level(int(value)),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=REASON_MAX_CHARS,
                             help_text=gettext_lazy("Why: shown on this page and logged."))


class ReleaseLevelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=REASON_MAX_CHARS, required=False)


class ChaosStartForm(forms.Form):
    provider = forms.ChoiceField(label=gettext_lazy("Provider"),
                                 choices=[(provider, provider) for provider in chaos.PROVIDERS])
    seconds = forms.IntegerField(label=gettext_lazy("Seconds"), min_value=chaos.MIN_SECONDS,
                                 max_value=chaos.MAX_SECONDS, initial=120)


class ChaosStopForm(forms.Form):
    provider = forms.ChoiceField(label=gettext_lazy("Provider"),
                                 choices=[(provider, provider) for provider in chaos.PROVIDERS])


def _history_url(name: str) -> str:
    return reverse("admin:resilience_servicestatus_history", args=[quote(name)])


def _form_errors(form: forms.Form) -> str:
    return "; ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())


def _moved(change: degradation.LevelChange) -> str:
    return f"{change.from_level.label} → {change.to_level.label}"


REDIS_AWAY = gettext_lazy("Redis is unreachable: nothing was changed (an action must reach every process). "
                          "Try again when Redis is back.")


def _staff_reason(request: HttpRequest, text: str, default: str) -> str:
    return f"{text or default} (by {request.user.get_username()})"


class StaffPageAdmin(admin.ModelAdmin):
    """An admin page over state that lives outside the database (an unmanaged model gives it
    permissions and log entries). Nothing to add or delete; a named object is `known_names()`;
    its actions live under act/… (see each get_urls) so <name>/history/ keeps working; an
    action is recorded in the admin log, and if the database is away (the outage the action
    answers), the action still stands and staff are told it is not recorded."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def known_names(self) -> list[str]:
        raise NotImplementedError

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        return self.model(pk=object_id) if object_id in self.known_names() else None

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def log_safely(self, request: HttpRequest, obj: object, message: str) -> None:
        try:
            self.log_change(request, obj, message)
        except DatabaseError:
            logger.warning("staff action not recorded in the admin log: database unreachable")
            messages.warning(request, gettext("Done, but not recorded in the admin log: the database is "
                                              "unreachable."))


@admin.register(ServiceStatus)
class ServiceStatusAdmin(StaffPageAdmin):
    """Its changelist is the dashboard."""

    def get_urls(self):
        return [
            path("act/<str:action>/", self.admin_site.admin_view(self.action_view),
                 name="resilience_servicestatus_action"),
            path("live/", self.admin_site.admin_view(self.live_view), name="resilience_servicestatus_live"),
        ] + super().get_urls()

    def known_names(self) -> list[str]:
        return status_names()

    # The page -----------------------------------------------------------------------------
    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Service status"),
            "opts": self.model._meta,
            "can_change": self.has_change_permission(request),
            "hours": DASHBOARD_HOURS,
            "live_seconds": LIVE_SECONDS,
            "level_history_url": _history_url(DEGRADATION),
            **self._live_panels(),
            **self._ai_panel(),
            **self._drills_panel(),
            **self._queue_panel(request),
            **self._product_panel(),
            "force_form": ForceLevelForm(auto_id="id_force_%s"),
            "release_form": ReleaseLevelForm(auto_id="id_release_%s"),
            "chaos_start_form": ChaosStartForm(auto_id="id_chaos_start_%s"),
        }
        return TemplateResponse(request, "admin/resilience/dashboard.html", context)

    def live_view(self, request: HttpRequest) -> HttpResponse:
        """The read-only parts again, each swapped into the open dashboard by its id (htmx): the
        forms around them are never replaced while staff type."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return TemplateResponse(request, "admin/resilience/dashboard_live.html", self._live_panels())

    # Each panel is read on its own: one source down must not hide the others.
    def _live_panels(self) -> dict:
        return {**self._degradation_panel(), **self._breakers_panel()}

    def _degradation_panel(self) -> dict:
        # Never raises: without Redis, this process's copy (at least DEGRADED, and says why).
        state = degradation.degradation_current()
        history = degradation.degradation_history(limit=TIMELINE_LENGTH)
        recovery = _due(degradation.degradation_recovery_at_ms(), _now_ms())
        return {
            "level": {"name": state.level.label, "value": int(state.level), "forced": state.forced,
                      "reason": state.reason, "since": _at(state.since_ms), "recovery": recovery,
                      "ai_configured": bool(configured_ai_providers())},
            "timeline": [
                {"at": _at(change.at_ms), "from": change.from_level.label, "to": change.to_level.label,
                 "reason": change.reason, "forced": change.forced}
                for change in history
            ],
        }

    def _breakers_panel(self) -> dict:
        rows = _breaker_rows(breakers.snapshots())  # falls back to this process's view by itself
        return {"breakers": rows, "breakers_shared": _shared(rows)}

    def _ai_panel(self) -> dict:
        try:
            return {"ai_statistics": ai_log.ai_log_statistics(hours=DASHBOARD_HOURS),
                    "ai_providers": ai_log.ai_log_providers(hours=DASHBOARD_HOURS), "ai_available": True}
        except DatabaseError as error:
            logger.warning("status dashboard: AI figures unavailable (%s)", type(error).__name__)
            return {"ai_statistics": None, "ai_providers": [], "ai_available": False}

    def _drills_panel(self) -> dict:
        try:
            drills = chaos.chaos_drills()
        except REDIS_TROUBLE as error:
            logger.warning("status dashboard: chaos drills unavailable (%s)", type(error).__name__)
            return {"drills": [], "drills_available": False}
        rows = [{**drill, "history_url": _history_url(drill_status_name(drill["provider"]))} for drill in drills]
        return {"drills": rows, "drills_available": True}

    def _queue_panel(self, request: HttpRequest) -> dict:
        jobs = self.admin_site.get_model_admin(QueuedJob)
        try:
            counts: dict[str, int | None] = queue.job_counts()
        except DatabaseError as error:
            logger.warning("status dashboard: queued job counts unavailable (%s)", type(error).__name__)
            counts = {}
        rows = [{"status": status, "label": status.label, "count": counts.get(status),
                 "url": job_changelist_url(status__exact=status)}
                for status in DASHBOARD_JOB_STATUSES]
        return {"queue_counts": rows, "queue_available": bool(counts), "queue_url": job_changelist_url(),
                "can_see_jobs": jobs.has_view_or_change_permission(request)}

    def _product_panel(self) -> dict:
        """The host project's own figures (RESILIENCE_DASHBOARD_FIGURES: an import string of a
        callable returning [{"label", "value", "url"}]); this app knows nothing of them."""
        path = getattr(settings, "RESILIENCE_DASHBOARD_FIGURES", "")
        if not path:
            return {"product_figures": None}
        try:
            return {"product_figures": import_string(path)()}
        except DatabaseError as error:
            logger.warning("status dashboard: product figures unavailable (%s)", type(error).__name__)
            return {"product_figures": []}

    # The actions --------------------------------------------------------------------------
    def action_view(self, request: HttpRequest, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        handlers: dict[str, Callable[[HttpRequest], None]] = {
            "evaluate": self._evaluate, "force": self._force, "release": self._release,
            "chaos_start": self._chaos_start, "chaos_stop": self._chaos_stop,
        }
        handler = handlers.get(action)
        if handler is None:
            messages.error(request, gettext("Unknown action: %(action)s") % {"action": action})
        else:
            try:
                handler(request)
            except (*REDIS_TROUBLE, DegradationStoreUnavailable):
                messages.error(request, REDIS_AWAY)
        return HttpResponseRedirect(reverse("admin:resilience_servicestatus_changelist"))

    def _evaluate(self, request: HttpRequest) -> None:
        """Check every component now instead of waiting for the next scheduled evaluation."""
        change = degradation.degradation_evaluate()
        current = degradation.degradation_current()
        if change is None:
            messages.info(request, gettext("Evaluated now: the level stays %(level)s (%(reason)s).")
                          % {"level": current.level.label, "reason": current.reason})
        else:
            self.log_safely(request, ServiceStatus(name=DEGRADATION), f"evaluated on demand: {_moved(change)}")
            messages.success(request, gettext("Evaluated now: %(change)s.") % {"change": _moved(change)})

    def _force(self, request: HttpRequest) -> None:
        form = ForceLevelForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("No level was forced: %(errors)s") % {"errors": _form_errors(form)})
            return
        level: Level = form.cleaned_data["level"]
        reason = _staff_reason(request, form.cleaned_data["reason"], "")
        change = degradation.degradation_force(level=level, reason=reason)
        # The admin log keeps English, as the level's reasons do; the message speaks the staff's language.
        logged = _moved(change) if change else f"{level.label} (level unchanged)"
        self.log_safely(request, ServiceStatus(name=DEGRADATION), f"level forced, {logged}: {reason}")
        what = _moved(change) if change else gettext("%(level)s (level unchanged)") % {"level": level.label}
        messages.success(request, gettext("Level forced: %(what)s. It stays until released.") % {"what": what})

    def _release(self, request: HttpRequest) -> None:
        form = ReleaseLevelForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("The level was not released: %(errors)s")
                           % {"errors": _form_errors(form)})
            return
        if not degradation.degradation_current().forced:
            messages.warning(request, gettext("No level is forced: nothing to release."))
            return
        reason = _staff_reason(request, form.cleaned_data["reason"], "released")
        change = degradation.degradation_release(reason=reason)
        logged = _moved(change) if change else "level unchanged"
        self.log_safely(request, ServiceStatus(name=DEGRADATION), f"forced level released, {logged}: {reason}")
        what = _moved(change) if change else gettext("level unchanged")
        messages.success(request, gettext("Forced level released (%(what)s): the level follows the service's "
                                          "health again.") % {"what": what})

    def _chaos_start(self, request: HttpRequest) -> None:
        form = ChaosStartForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("No drill was started: %(errors)s") % {"errors": _form_errors(form)})
            return
        provider, seconds = form.cleaned_data["provider"], form.cleaned_data["seconds"]
        chaos.chaos_start(provider=provider, seconds=seconds, started_by=request.user.get_username())
        self.log_safely(request, ServiceStatus(name=drill_status_name(provider)),
                        f"chaos drill started: {provider} fails for {seconds} s")
        messages.warning(request, gettext("Chaos drill started: %(provider)s fails in every process for "
                                          "%(seconds)s s.") % {"provider": provider, "seconds": seconds})

    def _chaos_stop(self, request: HttpRequest) -> None:
        form = ChaosStopForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("No drill was stopped: %(errors)s") % {"errors": _form_errors(form)})
            return
        provider = form.cleaned_data["provider"]
        if not any(drill["provider"] == provider for drill in chaos.chaos_drills()):
            messages.warning(request, gettext("No chaos drill is running on %(provider)s: nothing to stop.")
                             % {"provider": provider})
            return
        chaos.chaos_stop(provider=provider)
        self.log_safely(request, ServiceStatus(name=drill_status_name(provider)), f"chaos drill stopped: {provider}")
        messages.success(request, gettext("Chaos drill stopped: %(provider)s is called normally again.")
                         % {"provider": provider})


# --- The breakers page ----------------------------------------------------------------------------

# key (a CircuitBreaker method too) -> the button
ACTIONS = {
    "reset": gettext_lazy("Reset (closed, window cleared)"),
    "force_open": gettext_lazy("Force open"),
    "force_closed": gettext_lazy("Force closed"),
}


@admin.register(CircuitBreakerEntry)
class CircuitBreakerAdmin(StaffPageAdmin):
    def get_urls(self):
        return [
            path("act/<str:action>/<path:name>/", self.admin_site.admin_view(self.action_view),
                 name="resilience_breaker_action"),
        ] + super().get_urls()

    def known_names(self) -> list[str]:
        return breakers.breaker_names()

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        rows = _breaker_rows(breakers.snapshots())
        shared = _shared(rows)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Circuit breakers"),
            "opts": self.model._meta,
            "rows": rows,
            "shared": shared,
            "actions": ACTIONS,
            "can_change": self.has_change_permission(request) and shared,
        }
        return TemplateResponse(request, "admin/resilience/breakers.html", context)


    def action_view(self, request: HttpRequest, name: str, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        if name not in breakers.breaker_names() or action not in ACTIONS:
            messages.error(request, gettext("Unknown breaker or action: %(name)s / %(action)s")
                           % {"name": name, "action": action})
        else:
            reason = f"{action.replace('_', ' ')} by {request.user.get_username()}"  # English, as every reason
            try:
                transition = getattr(breakers.get_breaker(name), action)(reason)
            except REDIS_TROUBLE:
                messages.error(request, gettext("Redis is unreachable: %(name)s was not changed (an action must "
                                                "reach every process). Try again when Redis is back.")
                               % {"name": name})
            else:
                self.log_safely(request, CircuitBreakerEntry(name=name),
                                f"{transition.from_state} → {transition.to_state}: {reason}")
                messages.success(request, f"{name}: {transition.from_state} → {transition.to_state}")
        return HttpResponseRedirect(reverse("admin:resilience_circuitbreakerentry_changelist"))


# --- The AI request log ---------------------------------------------------------------------------

SUMMARY_HOURS = 24  # the window of the figures shown above the requests list


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the application only: staff look, nobody adds, edits or deletes here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AIRequestLog)
class AIRequestLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "status", "provider", "model", "step", "latency_ms", "first_token_ms",
                    "error_code", "retry_count", "fallback_used", "request_id")
    list_filter = ("status", "provider", "fallback_used", "error_code")
    search_fields = ("request_id", "turn_id", "session_id")
    date_hierarchy = "created_at"
    list_per_page = 50

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        summary = {
            "summary_hours": SUMMARY_HOURS,
            "statistics": ai_log.ai_log_statistics(hours=SUMMARY_HOURS),
            "providers": ai_log.ai_log_providers(hours=SUMMARY_HOURS),
        }
        return super().changelist_view(request, extra_context={**summary, **(extra_context or {})})


@admin.register(AIErrorPattern)
class AIErrorPatternAdmin(admin.ModelAdmin):
    list_display = ("key", "occurrences", "last_seen", "first_seen", "resolution_status")
    list_filter = ("resolution_status", "provider", "error_code")
    search_fields = ("key", "probable_cause", "notes")
    fields = ("key", "provider", "error_code", "occurrences", "first_seen", "last_seen", "probable_cause",
              "suggested_action", "resolution_status", "notes")
    readonly_fields = ("key", "provider", "error_code", "occurrences", "first_seen", "last_seen",
                       "probable_cause", "suggested_action")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # patterns come from the log


@admin.register(AIRecoveryAttempt)
class AIRecoveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "turn_id", "step", "strategy", "action", "success", "duration_ms")
    list_filter = ("strategy", "success")
    search_fields = ("turn_id",)
    date_hierarchy = "created_at"


# --- The queue for later --------------------------------------------------------------------------
# Staff look at the jobs and steer them with the services of resilience.queue (retry now, requeue
# dead jobs, discard); nobody edits a row by hand.

JobStatus = QueuedJob.Status
FINAL_STATUSES = (JobStatus.DONE, JobStatus.DEAD, JobStatus.DISCARDED)  # no next attempt to speak of
STATUS_HINTS = {
    JobStatus.PENDING: gettext_lazy("waits for its time and its dependency"),
    JobStatus.RUNNING: gettext_lazy("a worker holds it"),
    JobStatus.DONE: gettext_lazy("its effect is recorded"),
    JobStatus.FAILED: gettext_lazy("the last attempt failed: tried again at its next attempt"),
    JobStatus.DEAD: gettext_lazy("out of attempts: requeue or discard it"),
    JobStatus.DISCARDED: gettext_lazy("set aside by staff, kept for the record"),
}


def job_changelist_url(**filters: str) -> str:
    url = reverse("admin:resilience_queuedjob_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _pretty_json(value: object) -> str:
    if value is None:
        return "—"
    # format_html escapes the text: a payload may hold anything an artist typed.
    return format_html('<pre class="job-json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False,
                                                                     sort_keys=True))


@admin.register(QueuedJob)
class QueuedJobAdmin(admin.ModelAdmin):
    """The jobs, most recently changed first (what just failed, died or ran is on top). The rows
    are read-only; the actions need the change permission and log one entry per job changed."""

    list_display = ("id", "job_type", "status_shown", "priority", "attempts_shown", "dependency", "next_attempt",
                    "owner", "updated_at")
    list_display_links = ("id", "job_type")
    list_filter = ("status", "job_type", "priority", "dependency")
    search_fields = ("idempotency_key", "owner")
    ordering = ("-updated_at", "-id")
    list_per_page = 50
    actions = ("retry_now", "requeue_dead", "discard")
    fieldsets = (
        (None, {"fields": ("id", "job_type", "status_shown", "priority", "dependency", "owner", "idempotency_key")}),
        (gettext_lazy("Attempts"), {"fields": ("attempts_shown", "next_attempt", "lease_expires_at", "last_error")}),
        (gettext_lazy("Data"), {"fields": ("payload_shown", "result_shown")}),
        (gettext_lazy("Times"), {"fields": ("created_at", "updated_at", "finished_at")}),
    )
    readonly_fields = ("id", "job_type", "status_shown", "priority", "dependency", "owner", "idempotency_key",
                       "attempts_shown", "next_attempt", "lease_expires_at", "last_error", "payload_shown",
                       "result_shown", "created_at", "updated_at", "finished_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs come from the application

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # discard instead: the row stays for the record

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The change permission is for the actions on the list; a job's own page is read-only
        # for everyone (a form save would write back a row a worker may be changing).
        return obj is None and super().has_change_permission(request)

    # Columns and fields ---------------------------------------------------------------------
    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_shown(self, job: QueuedJob) -> str:
        return format_html('<span class="job-status job-status--{}" title="{}">{}</span>', job.status,
                           STATUS_HINTS.get(job.status, ""), job.get_status_display())

    @admin.display(description=gettext_lazy("attempts"), ordering="attempts")
    def attempts_shown(self, job: QueuedJob) -> str:
        return f"{job.attempts} / {job.max_attempts}"

    @admin.display(description=gettext_lazy("next attempt"), ordering="next_attempt_at")
    def next_attempt(self, job: QueuedJob) -> datetime | None:
        return None if job.status in FINAL_STATUSES else job.next_attempt_at

    @admin.display(description=gettext_lazy("payload"))
    def payload_shown(self, job: QueuedJob) -> str:
        return _pretty_json(job.payload)

    @admin.display(description=gettext_lazy("result"))
    def result_shown(self, job: QueuedJob) -> str:
        return _pretty_json(job.result)

    # Actions ----------------------------------------------------------------------------------
    @admin.action(description=gettext_lazy("Retry now"), permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[QueuedJob]) -> None:
        self._steer(request, queryset, queue.JOB_ACTIONS["retry_now"])

    @admin.action(description=gettext_lazy("Requeue dead jobs"), permissions=["change"])
    def requeue_dead(self, request: HttpRequest, queryset: QuerySet[QueuedJob]) -> None:
        self._steer(request, queryset, queue.JOB_ACTIONS["requeue_dead"])

    @admin.action(description=gettext_lazy("Discard"), permissions=["change"])
    def discard(self, request: HttpRequest, queryset: QuerySet[QueuedJob]) -> None:
        self._steer(request, queryset, queue.JOB_ACTIONS["discard"])

    def _steer(self, request: HttpRequest, queryset: QuerySet[QueuedJob], action: queue.JobAction) -> None:
        """Call a staff service on the selected jobs and log each job it changed. The rows are
        locked meanwhile, so a job whose `updated_at` moved was changed by the service."""
        job_ids = list(queryset.values_list("pk", flat=True))
        with transaction.atomic():
            before = {job.pk: job for job in QueuedJob.objects.select_for_update().filter(pk__in=job_ids)}
            action.service(job_ids=job_ids)
            changed = [job for job in QueuedJob.objects.filter(pk__in=job_ids).order_by("pk")
                       if job.updated_at != before[job.pk].updated_at]
            for job in changed:
                was = before[job.pk]
                self.log_change(request, job, f"{action.done} by staff: {was.status} → {job.status} "
                                              f"({was.attempts} / {was.max_attempts} attempts before)")
        summary = action.summary(changed=len(changed), left_alone=len(before) - len(changed))
        messages.add_message(request, messages.SUCCESS if changed else messages.WARNING, f"{summary}.")
