"""The status dashboard in a real browser (Debian's Chromium) against a real Daphne: branded and in
Spanish, it refreshes its level, level changes and breakers by itself (htmx polling live/) while
staff type in its forms, with an open breaker's next probe and the earliest the level can be
back to OPTIMAL, and no Content-Security-Policy violation."""
from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from resilience.degradation import Level
from tests.resilience.test_admin_dashboard_live import trip
from tests.servers import database_url_of_test_db, server_environment, start_daphne
from tests.ui.test_chat_browser import shoot
from tests.ui.test_csp_browser import RECORD_VIOLATIONS

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

DASHBOARD = "/admin/resilience/servicestatus/"
LIVE_WAIT = 15_000  # ms: the page polls every 5 s


@pytest.fixture
def prefix(settings) -> str:
    """The server's Redis keys, shared with this test so that it can trip breakers behind the page."""
    prefix = f"test-admin-live-{uuid.uuid4().hex[:12]}"
    settings.RESILIENCE_KEY_PREFIX = f"{prefix}:resilience"  # what REDIS_KEY_PREFIX gives the server
    return prefix


@pytest.fixture(autouse=True)
def staff(transactional_db) -> None:
    """Before the tab opens: the browser's event loop forbids database calls (tests/ui/conftest.py)."""
    get_user_model().objects.create_superuser("staff", password="a-staff-password")


@pytest.fixture
def page(transactional_db, browser_page: Page) -> Page:
    return browser_page


def test_the_dashboard_refreshes_itself_and_leaves_the_forms_alone(page: Page, prefix: str):
    page.add_init_script(RECORD_VIOLATIONS)
    server, base_url = start_daphne(server_environment(DATABASE_URL=database_url_of_test_db(),
                                                       REDIS_KEY_PREFIX=prefix))
    try:
        page.goto(f"{base_url}/admin/login/?next={DASHBOARD}")
        page.fill("#id_username", "staff")
        page.fill("#id_password", "a-staff-password")
        page.click("input[type=submit]")
        expect(page).to_have_url(base_url + DASHBOARD)
        expect(page.locator("#site-name")).to_have_text("ÍTERA PressKit · Administración")
        expect(page.locator("#status-level-panel h2")).to_have_text("Nivel de degradación")
        level = page.locator("#status-level")
        expect(level).to_have_attribute("data-level", "optimal")

        # Staff start forcing a level; meanwhile the service changes behind the page.
        page.select_option("#id_force_level", str(int(Level.MINIMAL)))
        page.fill("#id_force_reason", "migración de la base")
        trip("storage", seconds_ago=5)
        storage = page.locator('tr[data-breaker="storage"]')
        expect(storage).to_have_attribute("data-state", "open", timeout=LIVE_WAIT)
        expect(storage.locator(".breaker-probe")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d \(en \d+ s\)\s*$"))

        # Another tab evaluates now with the database's breaker open: the level falls, and says
        # when it can be back.
        trip("database", seconds_ago=5)
        other = page.context.new_page()
        other.goto(base_url + DASHBOARD)
        other.click("#evaluate-form button")
        expect(level).to_have_attribute("data-level", "minimal", timeout=LIVE_WAIT)
        expect(page.locator("#level-recovery")).to_contain_text(
            re.compile(r"De vuelta a OPTIMAL hacia las \d\d:\d\d:\d\d \(en \d+ s\), como pronto\."))
        expect(page.locator('#level-timeline li[data-to="minimal"]')).to_have_count(1)
        shoot(page, "admin-dashboard-1-recovering")

        # It forces EMERGENCY there: here the level says it stays until released, and gives no time.
        other.select_option("#id_force_level", str(int(Level.EMERGENCY)))
        other.fill("#id_force_reason", "simulacro")
        other.click("#force-level-form button")
        expect(level).to_have_attribute("data-forced", "true", timeout=LIVE_WAIT)
        expect(level).to_contain_text("se mantiene hasta que se libere")
        expect(page.locator("#level-recovery")).to_have_count(0)
        shoot(page, "admin-dashboard-2-forced")

        # What staff typed here is still there, where they left it.
        expect(page.locator("#id_force_reason")).to_have_value("migración de la base")
        expect(page.locator("#id_force_level")).to_have_value(str(int(Level.MINIMAL)))
        assert page.evaluate("document.activeElement.id") == "id_force_reason"
        assert page.evaluate("window.__violations") == []
        assert page.locator("style").count() == 0  # htmx's indicator style was not injected
    finally:
        server.stop()
