"""The artist's experience in a real browser (Debian's Chromium) on a phone: touch targets a
finger can hit, a transcript a keyboard can reach, axe-core clean mid-chat, and EMERGENCY
closing the box and turning the page into the status page by itself. Screenshots land in
test-artifacts/."""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from resilience.degradation import Level, degradation_force, degradation_release
from tests.ui.conftest import PHONE, off_the_browser_thread
from tests.ui.test_chat_browser import send, shoot

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

TOUCH = 44  # px: the smallest target a finger hits reliably (WCAG 2.5.5)


@pytest.fixture
def phone(browser_page: Page) -> Page:
    browser_page.set_viewport_size(PHONE)
    return browser_page


def serious_violations(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]


def test_on_a_phone_targets_are_big_enough_the_transcript_is_reachable_and_axe_is_clean(daphne, phone):
    phone.goto(daphne + "/")
    expect(phone.locator("#connection")).to_have_text("Conexión estable")
    for text in ("Luna Roja", "house, techno", "desde 2014", "Madrid; salas y festivales de España"):
        send(phone, text)
    shoot(phone, "phone-mid-chat")
    for control in ("#language-select", ".language button", "#composer button[type=submit]"):
        box = phone.locator(control).bounding_box()
        assert box["height"] >= TOUCH, f"{control} is {box['height']:.0f} px high"
    assert phone.locator(".skip-link").text_content() == "Saltar al cuadro de respuesta"
    messages = phone.locator("#messages")
    assert messages.get_attribute("role") == "log" and messages.get_attribute("tabindex") == "0"
    assert serious_violations(phone) == []


def test_emergency_closes_the_box_and_shows_the_status_page_by_itself(daphne, phone):
    phone.goto(daphne + "/")
    expect(phone.locator("#connection")).to_have_text("Conexión estable")
    send(phone, "Luna Roja")
    try:
        off_the_browser_thread(degradation_force, level=Level.EMERGENCY, reason="drill: everything is down")
        expect(phone.locator("#message")).to_be_disabled(timeout=10_000)
        expect(phone.locator("#degraded-banner")).to_contain_text("mantenimiento de emergencia", timeout=10_000)
        expect(phone.locator("#composer")).to_have_count(0)  # the status page, no reply box
        card = phone.locator(".status-page").bounding_box()
        assert card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"]  # it fits the phone
        shoot(phone, "phone-emergency")
    finally:
        off_the_browser_thread(degradation_release, reason="drill over")
