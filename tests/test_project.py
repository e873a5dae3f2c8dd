"""Small project-level behaviours: liveness, housekeeping task."""
from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from presskit.tasks import sessions_clear_expired


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_expired_browser_sessions_are_cleared():
    store = import_module(settings.SESSION_ENGINE).SessionStore
    fresh, stale = store(), store()
    fresh.create()
    stale.create()
    Session.objects.filter(session_key=stale.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    sessions_clear_expired()
    assert list(Session.objects.values_list("session_key", flat=True)) == [fresh.session_key]
