"""A real browser: Debian's Chromium driven by Playwright (which cannot download its own here)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "laptop": LAPTOP}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser_page() -> Iterator[Page]:
    """A Spanish-speaking browser tab. Started inside the test (after any database setup):
    Playwright's sync API runs an event loop in this thread, where Django refuses synchronous
    database calls."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="es-ES", viewport={"width": 1100, "height": 900})
        yield context.new_page()
        browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def sized_page(request, browser_page: Page) -> tuple[Page, str]:
    """The tab on a phone, then on a laptop: the page and the viewport's name (for screenshots)."""
    browser_page.set_viewport_size(VIEWPORTS[request.param])
    return browser_page, request.param


@pytest.fixture
def daphne(transactional_db) -> Iterator[str]:
    """A Daphne on this test's database, template replies a little slowed (they stream): its URL."""
    from tests.servers import database_url_of_test_db, server_environment, start_daphne

    server, base_url = start_daphne(server_environment(DATABASE_URL=database_url_of_test_db(),
                                                      CHAT_TEMPLATE_TOKEN_DELAY="0.002"))
    try:
        yield base_url
    finally:
        server.stop()


def off_the_browser_thread(action, **kwargs):
    """Playwright's sync API runs an event loop in the test's thread: code that runs one of its
    own (a level's broadcast through async_to_sync) runs in another, as staff's would in theirs."""
    def run():
        try:
            return action(**kwargs)
        finally:
            connections.close_all()  # this thread's own: left open, it would outlive the test database

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
