"""axe-core on every state of the chat an artist meets, on a phone (390×844) and a laptop
(1280×800), in a real browser (Debian's Chromium): the start screen, mid-chat, editing an
earlier answer, the finished presskit, and the status page of EMERGENCY. The levels' banners
are swept in test_levels_browser.py, the public page in test_publish_browser.py. No serious or
critical violation anywhere; a screenshot of each state lands in test-artifacts/."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from resilience.degradation import Level, degradation_force, degradation_release
from tests.ui.conftest import off_the_browser_thread
from tests.ui.test_chat_browser import send, shoot
from tests.ui.test_experience_browser import serious_violations
from tests.ui.test_publish_browser import ANSWERS

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]


def clean(page: Page, state: str, viewport: str) -> None:
    shoot(page, f"state-{viewport}-{state}")
    assert serious_violations(page) == [], state


def draft_open(page: Page) -> None:
    """The draft panel, opened if the screen folded it into its summary."""
    panel = page.locator("#draft-panel")
    if panel.get_attribute("open") is None:
        page.locator("#draft-panel > summary").click()
    expect(panel).to_have_attribute("open", "")


def test_every_state_is_clean_for_axe(daphne, sized_page):
    page, viewport = sized_page
    page.goto(daphne + "/")
    expect(page.locator("#connection")).to_have_text("Conexión estable")
    clean(page, "start", viewport)

    for text in ANSWERS[:3]:
        send(page, text)
    clean(page, "mid-chat", viewport)

    draft_open(page)
    page.locator("button[aria-label='Editar Nombre artístico']").click()
    expect(page.locator("#message")).to_have_value(ANSWERS[0])  # the current answer, to change
    clean(page, "editing", viewport)
    send(page, "Luna Llena")

    for text in ANSWERS[3:-1]:
        send(page, text)
    page.fill("#message", ANSWERS[-1])
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_contain_text("Presskit completo")
    expect(page.locator("#stream .msg")).to_have_count(0)  # the bio has come too
    draft_open(page)
    expect(page.locator("#bios")).to_be_visible()
    clean(page, "complete", viewport)

    try:
        off_the_browser_thread(degradation_force, level=Level.EMERGENCY, reason="drill")
        expect(page.locator(".status-page")).to_be_visible(timeout=15_000)
        clean(page, "emergency", viewport)
    finally:
        off_the_browser_thread(degradation_release, reason="drill over")
