"""The whole stack as `make run` starts it (embedded Redis, Daphne, Celery worker and beat) and a
real browser: an artist is mid-chat, OpenAI and Anthropic fail, the backup banner appears
without a reload, the chat goes on with template replies, the providers recover and the banner
goes away by itself; an artist who finishes during the outage gets the template bio at once and
the AI bio pushed to the open page when the worker writes it. Screenshots of each state land in test-artifacts/."""
from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from chat.fake_llm.server import FakeLLMServer
from presskit.embedded_redis import free_local_port
from tests.servers import ServerProcess, server_environment, wait_until_serving
from tests.ui.test_chat_browser import send, shoot

pytestmark = pytest.mark.subprocess

BANNER = "Usando modo de respaldo para garantizar el servicio. La funcionalidad completa se restaurará automáticamente."
FAST_BREAKER = {"failure_threshold": 1, "volume_threshold": 1, "recovery_timeout": 2}


@pytest.fixture
def fake() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def stack(tmp_path, fake) -> Iterator[str]:
    port = free_local_port()
    env = server_environment(
        PRESSKIT_DATA_DIR=str(tmp_path / "data"),
        OPENAI_API_KEY="fake", OPENAI_BASE_URL=fake.openai_url(),
        ANTHROPIC_API_KEY="fake", ANTHROPIC_BASE_URL=fake.anthropic_url(),
        AI_PROVIDER_CHAIN="openai,anthropic,template", AI_FIRST_TOKEN_TIMEOUT="1.0",
        BREAKER_OVERRIDES=json.dumps({"openai": FAST_BREAKER, "anthropic": FAST_BREAKER}),
        DEGRADATION_EVAL_INTERVAL="2", DEGRADATION_RECOVERY_HOLD="1", CHAT_TEMPLATE_TOKEN_DELAY="0.005",
        QUEUE_DRAIN_INTERVAL="0.5", QUEUE_BACKOFF_BASE="1",
    )
    for name in ("REDIS_URL", "DATABASE_URL"):
        env.pop(name, None)
    run = ServerProcess([sys.executable, "-m", "presskit.stack", "run", "--port", str(port)], env)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", timeout=120, server=run)
        run.wait_for_output(r"celery@\S+ ready")
        run.wait_for_output(r"beat: Starting")
        yield f"http://127.0.0.1:{port}"
    finally:
        run.signal_group(signal.SIGINT)
        run.process.wait(timeout=90)


@pytest.fixture
def page(browser_page: Page) -> Page:
    return browser_page


def last_reply(page: Page):
    return page.locator("#messages .msg--assistant").last


def test_the_backup_banner_comes_and_goes_live_while_the_chat_goes_on(stack, fake, page):
    page.goto(stack + "/")
    expect(page.locator("#connection")).to_have_text("Conexión estable")
    expect(page.locator("#degraded-banner")).to_be_hidden()
    send(page, "Luna Roja")
    expect(last_reply(page)).to_have_attribute("data-provider", "openai")
    shoot(page, "levels-1-optimal")

    fake.inject("openai", kind="hang")
    fake.inject("anthropic", kind="status", code=503)
    send(page, "house, techno")
    expect(last_reply(page)).to_have_attribute("data-provider", "template")
    expect(page.locator("#degraded-banner .banner__headline")).to_have_text(BANNER, timeout=15_000)  # no reload
    expect(page.locator("#degraded-banner .banner__detail")).to_contain_text("textos preparados")  # no AI: LIMITED
    expect(page.locator("#connection")).to_have_text("Modo respaldo activo")
    expect(page.locator("#message")).to_have_attribute(
        "placeholder", "Modo respaldo activo: funcionalidad básica disponible")
    for text in ("desde 2014", "Madrid, salas y festivales"):  # the chat goes on, with templates
        send(page, text)
        expect(last_reply(page)).to_have_attribute("data-fallback", "true")
    expect(page.locator("#progress")).to_contain_text("Paso 5 de 7")
    shoot(page, "levels-2-backup")

    fake.clear()  # the providers recover: the beat's evaluation probes them, the level recovers
    expect(page.locator("#degraded-banner")).to_be_hidden(timeout=30_000)
    expect(page.locator("#connection")).to_have_text("Conexión estable")
    send(page, "Empecé pinchando los vinilos de mi padre y hoy toco en festivales de toda España.")
    expect(last_reply(page)).to_have_attribute("data-provider", "openai")
    shoot(page, "levels-3-recovered")


SEVEN_ANSWERS = ("Luna Roja", "house, techno melódico", "desde 2014", "Madrid",
                 "Empecé pinchando los vinilos de mi padre y hoy toco en festivales de toda España.",
                 "@lunaroja", "booking@lunaroja.com")


def test_finishing_during_an_outage_gives_the_template_bio_now_and_the_ai_bio_later(stack, fake, page):
    fake.inject("openai", kind="status", code=503)
    fake.inject("anthropic", kind="status", code=503)
    page.goto(stack + "/")
    for text in SEVEN_ANSWERS[:-1]:
        send(page, text)
    page.fill("#message", SEVEN_ANSWERS[-1])  # two replies: the step's, then the bio's
    page.keyboard.press("Enter")
    expect(last_reply(page)).to_contain_text("Ahora mismo el servicio de IA no está disponible")
    bios = page.locator("#bios")
    expect(bios).to_have_attribute("data-source", "template")
    expect(bios).to_contain_text("La IA escribirá una versión mejorada")
    shoot(page, "bio-1-template-queued")

    fake.clear()  # the providers recover: beat's drain hands the job to the worker, which writes it
    expect(last_reply(page)).to_contain_text("¡Ya está aquí tu biografía escrita por la IA!", timeout=45_000)
    expect(bios).to_have_attribute("data-source", "ai")
    expect(bios).to_contain_text("escrita por la IA falsa")
    expect(bios).not_to_contain_text("La IA escribirá una versión mejorada")
    shoot(page, "bio-2-ai-arrived")
    page.reload()  # saved, not only shown
    expect(page.locator("#bios")).to_have_attribute("data-source", "ai")
