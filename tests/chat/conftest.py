"""The chat's AI providers run against the project's fake LLM server, through the real SDKs."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from chat.fake_llm.server import FakeLLMServer


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLMServer, settings) -> FakeLLMServer:
    """Every AI provider configured and pointed at a clean fake server; fresh breakers and
    reply cache; deadlines short enough for tests."""
    fake_llm_server.clear()
    settings.OPENAI_API_KEY = "fake-openai-key"
    settings.OPENAI_BASE_URL = fake_llm_server.openai_url("openai")
    settings.ANTHROPIC_API_KEY = "fake-anthropic-key"
    settings.ANTHROPIC_BASE_URL = fake_llm_server.anthropic_url("anthropic")
    settings.LOCAL_LLM_BASE_URL = fake_llm_server.openai_url("local")
    settings.AI_PROVIDER_CHAIN = ["openai", "anthropic", "local", "template"]
    settings.AI_FIRST_TOKEN_TIMEOUT = 0.8
    settings.AI_TOTAL_TIMEOUT = 3.0
    settings.RESILIENCE_KEY_PREFIX = f"test-chain-{uuid.uuid4().hex[:10]}"
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"],
                                                       "KEY_PREFIX": f"test-cache-{uuid.uuid4().hex[:10]}"}}
    return fake_llm_server
