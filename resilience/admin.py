"""The breakers page for staff: every breaker's state and counts, and the hand controls
(reset, force open, force closed). Actions need the change permission and are logged."""
from __future__ import annotations

from datetime import datetime, timezone

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from resilience import breakers
from resilience.machine import State
from resilience.models import CircuitBreakerEntry

ACTIONS = {
    "reset": ("reset", "Reset (closed, counts cleared)"),
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
        return [
            path("<str:name>/<str:action>/", self.admin_site.admin_view(self.action_view),
                 name="resilience_breaker_action"),
        ] + super().get_urls()

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
        context = {
            **self.admin_site.each_context(request),
            "title": "Circuit breakers",
            "opts": self.model._meta,
            "rows": rows,
            "actions": ACTIONS,
            "can_change": self.has_change_permission(request),
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
            transition = getattr(breakers.get_breaker(name), ACTIONS[action][0])(reason)
            self.log_change(request, CircuitBreakerEntry(name=name),
                            f"{transition.from_state} → {transition.to_state}: {reason}")
            messages.success(request, f"{name}: {transition.from_state} → {transition.to_state}")
        return HttpResponseRedirect(reverse("admin:resilience_circuitbreakerentry_changelist"))
