"""Each service level says plainly what it means, in a real browser (Debian's Chromium) on a
phone and a laptop: DESIGN's sentence as the banner's headline and one line per level under it;
backup replies wear a discreet badge that explains itself on hover and on focus; during MINIMAL
the artist's answer stays in the transcript as pending and turns into a saved one when it is
applied. axe-core finds nothing serious at any level; screenshots land in test-artifacts/."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from chat.fake_llm.server import FakeLLMServer
from chat.pending import pending_answers_replay
from resilience.degradation import Level, degradation_force, degradation_release
from tests.servers import database_url_of_test_db, server_environment, start_daphne
from tests.ui.test_chat_browser import send, shoot
from tests.ui.conftest import off_the_browser_thread
from tests.ui.test_experience_browser import serious_violations

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

HEADLINE = "Usando modo de respaldo para garantizar el servicio. La funcionalidad completa se restaurará automáticamente."
DETAILS = {
    Level.DEGRADED: "Todo funciona: el asistente responde desde un servicio de respaldo.",
    Level.LIMITED: "el asistente responde con textos preparados",
    Level.MINIMAL: "se aplicarán solas en cuanto vuelva el servicio",
}


@pytest.fixture
def server():
    """Daphne with OpenAI (the fake server) configured: replies from templates are then backup
    replies, with their badge."""
    with FakeLLMServer() as fake:
        server, base_url = start_daphne(server_environment(
            DATABASE_URL=database_url_of_test_db(), CHAT_TEMPLATE_TOKEN_DELAY="0.002",
            OPENAI_API_KEY="fake", OPENAI_BASE_URL=fake.openai_url(), AI_PROVIDER_CHAIN="openai,template"))
        try:
            yield base_url
        finally:
            off_the_browser_thread(degradation_release, reason="test over")
            server.stop()


def level_is(page: Page, level: Level) -> None:
    off_the_browser_thread(degradation_force, level=level, reason=f"drill: {level.label}")
    expect(page.locator("#service-mode")).to_have_attribute("data-level", level.label, timeout=10_000)


def test_every_level_says_what_works_and_a_kept_answer_turns_from_pending_to_saved(server, sized_page):
    page, viewport = sized_page
    page.goto(server + "/")
    expect(page.locator("#connection")).to_have_text("Conexión estable")
    send(page, "Luna Roja")

    for level in (Level.DEGRADED, Level.LIMITED):
        level_is(page, level)
        banner = page.locator("#degraded-banner")
        expect(banner.locator(".banner__headline")).to_have_text(HEADLINE)
        expect(banner.locator(".banner__detail")).to_contain_text(DETAILS[level])
        assert serious_violations(page) == []
        shoot(page, f"levels-{viewport}-{level.label}")

    # LIMITED (staff set AI aside): template replies, each with a small badge that explains itself.
    send(page, "house, techno")
    badge = page.locator("#messages .msg--assistant").last.locator(".msg__badge-label")
    why = page.locator("#messages .msg--assistant").last.locator(".msg__badge-why")
    expect(badge).to_have_text("respaldo")
    expect(why).to_be_hidden()
    badge.hover()
    expect(why).to_be_visible()
    expect(why).to_contain_text("el asistente principal no estaba disponible")
    page.mouse.move(0, 0)
    expect(why).to_be_hidden()
    badge.focus()
    expect(why).to_be_visible()
    assert badge.get_attribute("aria-describedby") == why.get_attribute("id")
    assert badge.bounding_box()["height"] <= 32  # discreet, beside a reply
    shoot(page, f"levels-{viewport}-badge")

    level_is(page, Level.MINIMAL)
    expect(page.locator("#degraded-banner .banner__detail")).to_contain_text(DETAILS[Level.MINIMAL])
    page.fill("#message", "desde 2014")
    page.keyboard.press("Enter")
    pending = page.locator("#messages .msg--pending")
    expect(pending).to_have_count(1)
    expect(pending.locator(".msg__text")).to_have_text("desde 2014")
    expect(pending.locator(".msg__state")).to_have_text("Guardada: se aplicará sola en cuanto vuelva el servicio.")
    expect(page.locator("#chat-error")).to_have_text("")  # no error: nothing went wrong for the artist
    expect(page.locator("#message")).to_have_value("")
    assert serious_violations(page) == []
    shoot(page, f"levels-{viewport}-minimal-pending")

    off_the_browser_thread(degradation_release, reason="database back")
    assert off_the_browser_thread(pending_answers_replay) == 1
    expect(pending).to_have_count(0)  # the same bubble, now saved
    expect(page.locator("#messages .msg--user").last.locator(".msg__text")).to_have_text("desde 2014")
    expect(page.locator("#progress")).to_contain_text("Paso 4 de 7")
    expect(page.locator("#degraded-banner")).to_be_hidden()
    shoot(page, f"levels-{viewport}-minimal-applied")

