"""The breakers page for staff: every breaker's state and counts, and the hand controls
(reset, force open, force closed). Actions need the change permission and are logged.

Then the AI request log: requests and recovery attempts read-only (the last 24 hours' figures
above the requests list), error patterns with an editable resolution status and notes."""
from __future__ import annotations

from datetime import datetime, timezone

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from resilience import ai_log, breakers
from resilience.machine import State
from resilience.models import AIErrorPattern, AIRecoveryAttempt, AIRequestLog, CircuitBreakerEntry
from resilience.store import REDIS_TROUBLE

ACTIONS = {
    "reset": ("reset", "Reset (closed, window cleared)"),
    "force_open": ("force_open", "Force open"),
    "force_closed": ("force_closed", "Force closed"),
}


@admin.register(CircuitBreakerEntry)
class CircuitBreakerAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self):
        # Under a prefix of its own, so the admin's <name>/history/ and <name>/change/ still work.
        return [
            path("act/<str:action>/<path:name>/", self.admin_site.admin_view(self.action_view),
                 name="resilience_breaker_action"),
        ] + super().get_urls()

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        """No table: a breaker is known by name (its history page reads the admin log)."""
        return CircuitBreakerEntry(name=object_id) if object_id in breakers.breaker_names() else None

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        rows = [
            {
                "snapshot": snapshot,
                "changed_at": datetime.fromtimestamp(snapshot.changed_at_ms / 1000, tz=timezone.utc)
                if snapshot.changed_at_ms else None,
                "forced": snapshot.state in (State.FORCED_OPEN, State.FORCED_CLOSED),
            }
            for snapshot in breakers.snapshots()
        ]
        shared = all(row["snapshot"].shared for row in rows if row["snapshot"].name != "redis")
        context = {
            **self.admin_site.each_context(request),
            "title": "Circuit breakers",
            "opts": self.model._meta,
            "rows": rows,
            "shared": shared,
            "actions": ACTIONS,
            "can_change": self.has_change_permission(request) and shared,
        }
        return TemplateResponse(request, "admin/resilience/breakers.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        return HttpResponseRedirect(reverse("admin:resilience_circuitbreakerentry_changelist"))

    def action_view(self, request: HttpRequest, name: str, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        if name not in breakers.breaker_names() or action not in ACTIONS:
            messages.error(request, f"Unknown breaker or action: {name} / {action}")
        else:
            reason = f"{ACTIONS[action][1].split(' (')[0].lower()} by {request.user.get_username()}"
            try:
                transition = getattr(breakers.get_breaker(name), ACTIONS[action][0])(reason)
            except REDIS_TROUBLE:
                messages.error(request, f"Redis is unreachable: {name} was not changed (an action must reach "
                                        "every process). Try again when Redis is back.")
            else:
                self.log_change(request, CircuitBreakerEntry(name=name),
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
