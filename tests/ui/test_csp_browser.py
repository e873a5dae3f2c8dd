"""The strict Content-Security-Policy in a real browser (Debian's Chromium) against a real Daphne:
the chat connects its socket ('self' covers ws: on the page's own host and port), streams a reply,
and the admin's own scripts run, with no violation reported on either."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from resilience.models import QueuedJob
from tests.servers import database_url_of_test_db, server_environment, start_daphne
from tests.ui.test_chat_browser import send

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

# Recorded before any page script runs: every violation the browser reports to the page.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def page(transactional_db, browser_page: Page) -> Page:
    """A tab opened once staff and a queued job exist (the browser's event loop forbids database
    calls in the test itself: see tests/ui/conftest.py)."""
    return browser_page


@pytest.fixture(autouse=True)
def staff_and_a_job(transactional_db) -> None:
    get_user_model().objects.create_superuser("staff", password="a-staff-password")
    QueuedJob.objects.create(job_type="test.csp", payload={}, dependency="test-dep", idempotency_key="csp-1")


def test_the_chat_and_the_admin_run_under_the_policy_without_a_violation(page: Page):
    console_errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    server, base_url = start_daphne(server_environment(DATABASE_URL=database_url_of_test_db()))
    try:
        response = page.goto(base_url + "/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator("#connection")).to_have_text("Conexión estable")
        send(page, "Luna Roja")
        expect(page.locator("#progress")).to_contain_text("Paso 2 de 7")
        assert page.evaluate("window.__violations") == []
        assert page.locator("style").count() == 0  # htmx's indicator style was not injected

        page.goto(base_url + "/admin/login/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", "a-staff-password")
        page.click("input[type=submit]")
        expect(page).to_have_url(base_url + "/admin/")
        page.goto(base_url + "/admin/resilience/queuedjob/")
        page.check("#action-toggle")  # the admin's actions.js selects every row
        expect(page.locator("tr.selected")).to_have_count(1)
        assert page.evaluate("window.__violations") == []
    finally:
        server.stop()
    assert [text for text in console_errors if "Content Security Policy" in text] == []
