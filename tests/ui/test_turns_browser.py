"""A turn in a real browser (Debian's Chromium), on a phone and a laptop: the page is never
silent while the providers think or fail (the typing bubble while the request is still
unanswered, then the calm line, then the reply in its place); "Techno and Drum and Bass" keeps
Drum & Bass whole; editing a long story puts all of it back in the box; and a page load asks
for nothing that is not there (the favicon included). Screenshots land in test-artifacts/."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.fake_llm.server import FakeLLMServer
from tests.servers import database_url_of_test_db, server_environment, start_daphne
from tests.ui.test_chat_browser import send, shoot
from tests.ui.test_states_axe_browser import draft_open

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

STORY = ("Empecé pinchando los vinilos de mi padre en Vallecas. " * 36).strip()  # ~1,900 characters


@pytest.fixture
def fake():
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def server(fake):
    """OpenAI and Anthropic on the fake server, with a first-token deadline long enough for the
    calm line to show while OpenAI hangs."""
    server, base_url = start_daphne(server_environment(
        DATABASE_URL=database_url_of_test_db(), CHAT_TEMPLATE_TOKEN_DELAY="0.002",
        OPENAI_API_KEY="fake", OPENAI_BASE_URL=fake.openai_url(),
        ANTHROPIC_API_KEY="fake", ANTHROPIC_BASE_URL=fake.anthropic_url(),
        AI_PROVIDER_CHAIN="openai,anthropic,template", AI_FIRST_TOKEN_TIMEOUT="2.5"))
    try:
        yield base_url
    finally:
        server.stop()


def test_a_turn_is_never_silent_genres_stay_whole_and_a_long_story_comes_back_to_edit(server, fake, sized_page):
    page, viewport = sized_page
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status >= 400 else None)
    page.goto(server + "/")
    expect(page.locator("#connection")).to_have_text("Conexión estable")
    assert page.locator("link[rel=icon]").count() == 1

    # OpenAI hangs, Anthropic fails: while nothing has answered, the page already says so.
    fake.inject("openai", kind="hang")
    fake.inject("anthropic", kind="status", code=503)
    page.fill("#message", "Luna Roja")
    page.keyboard.press("Enter")
    bubble = page.locator("#stream .msg--streaming")
    expect(bubble).to_be_visible()
    assert [request["target"] for request in fake.requests()] in ([], ["openai"])  # nothing answered yet
    expect(bubble.locator(".msg__wait")).to_have_text("Un momento, sigo contigo…")
    shoot(page, f"turn-{viewport}-still-here")
    expect(page.locator("#messages .msg--assistant").last).to_have_attribute("data-provider", "template")
    expect(page.locator("#stream .msg")).to_have_count(0)  # the reply took the bubble's place
    fake.clear()

    send(page, "Techno and Drum and Bass")
    draft_open(page)
    expect(page.locator("#draft .draft__item").nth(1).locator(".draft__value")).to_have_text("Techno, Drum & Bass")

    for text in ("desde 2014", "Madrid; salas y festivales de España"):
        send(page, text)
    page.fill("#message", STORY)
    page.keyboard.press("Enter")
    expect(page.locator("#progress")).to_contain_text("Paso 6 de 7")
    draft_open(page)
    page.locator("button[aria-label='Editar Tu historia']").click()
    expect(page.locator("#message")).to_have_value(STORY)  # all of it, to change, not to retype
    shoot(page, f"turn-{viewport}-editing-story")
    assert missing == []
