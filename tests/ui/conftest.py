"""A real browser: Debian's Chromium driven by Playwright (which cannot download its own here)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
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
