"""Small project-level behaviours: liveness, the icon, housekeeping task."""
from __future__ import annotations

import re
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
def test_every_page_has_an_icon_and_favicon_ico_finds_it(client):
    """No 404 on every load: the pages name the icon, and /favicon.ico (asked for regardless)
    leads to it."""
    page = client.get("/", HTTP_HOST="localhost").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page).group(1)
    served = client.get(icon)
    assert served.status_code == 200 and b"<svg" in b"".join(served.streaming_content)
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 301 and redirect["Location"] == icon


@pytest.mark.django_db
def test_expired_browser_sessions_are_cleared():
    store = import_module(settings.SESSION_ENGINE).SessionStore
    fresh, stale = store(), store()
    fresh.create()
    stale.create()
    Session.objects.filter(session_key=stale.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    sessions_clear_expired()
    assert list(Session.objects.values_list("session_key", flat=True)) == [fresh.session_key]


def _imported_modules(path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("app,forbidden,wiring", [
    # The presskit's domain knows nothing of the chat; only the project wiring names it.
    ("presskit", ("chat",), {"asgi.py", "urls.py", "settings.py"}),
    # The resilience app is reusable: nothing of the product.
    ("resilience", ("chat", "presskit"), set()),
])
def test_dependencies_run_one_way(app, forbidden, wiring):
    from tests.servers import REPO

    offenders = {
        str(path.relative_to(REPO)): sorted(module for module in _imported_modules(path)
                                            if module.split(".")[0] in forbidden)
        for path in (REPO / app).rglob("*.py") if path.name not in wiring
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_the_worker_and_beat_log_routine_tasks_at_debug_only(settings):
    """Beat runs the queue drain every 5 s: its lines must not bury the rest of the log."""
    import io
    import logging

    from presskit.celery import quiet_routine_tasks

    out = io.StringIO()
    logger = logging.Logger("celery-root")
    logger.addHandler(logging.StreamHandler(out))
    quiet_routine_tasks(logger=logger)
    trace = logging.Logger("celery.app.trace")
    trace.parent = logger
    trace.info("Task resilience.tasks.queue_drain[1a2b] succeeded in 0.01s: None")
    trace.info("Task presskit.version_export[3c4d] succeeded in 1.20s: {'pdf': True}")
    trace.warning("Task resilience.tasks.queue_drain[5e6f] raised: OperationalError")
    logged = out.getvalue()
    assert "queue_drain[1a2b]" not in logged
    assert "version_export[3c4d]" in logged and "queue_drain[5e6f]" in logged
