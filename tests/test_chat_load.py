"""Fifty artists chatting at once against a real Daphne on the test database lose nothing (issue 19).

bench/chat_load.py, small: each artist a browser (GET /, the chat's WebSocket with the page's
cookies, the seven answers as htmx sends them, 0.2–0.6 s of thinking after each reply), each its
own client behind the proxy (X-Real-IP), so the per-client limits apply as in production but the
pace of turns, which the artists outrun on purpose. Replies come from the template responder at
its word delay, or on the AI path from OpenAI played by the fake LLM server (bench/timed_fake_llm.py,
30 tokens 20 ms apart), the template behind it.

The test fails on any page load or handshake that failed, any socket closed unexpectedly, any
turn refused or timed out, any reply discarded mid-way; on any answer or reply missing from the
database, stored otherwise than sent and shown, or written by another provider than the path's
(row by row: bench/chat_load.py, database_check); and on any warning, error or exception Daphne
logs (but its notice of a consumer slow to shut down after its artist left). It never asserts
on a latency or a throughput: the figures are the benchmark's.
"""
from __future__ import annotations

import os
import sys
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.servers import REPO, database_url_of_test_db, start_daphne

sys.path.append(str(REPO / "bench"))  # the benchmark's own imports (bench_redis, public_page) are siblings
import chat_load  # noqa: E402

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

ARTISTS = 50
THINK = (0.2, 0.6)  # seconds after each finished reply
RAMP = 2.0  # seconds over which the artists start
SLOW_SHUTDOWN = "WARNING daphne.server Application instance "


@pytest.fixture(params=["template", "ai"])
def reply_path(request, tmp_path) -> Iterator[tuple[dict[str, str], str]]:
    """Daphne's environment for the path, and the provider every reply must come from."""
    env = {**os.environ, **chat_load.SERVER_ENVIRONMENT, "DATABASE_URL": database_url_of_test_db(),
           "REDIS_KEY_PREFIX": f"chat-load-{uuid.uuid4().hex[:8]}", "CHAT_TURN_LIMITS": ""}
    if request.param == "template":
        yield env, "template"
        return
    fake_llm, fake_llm_url = chat_load.fake_llm_start(env, tmp_path / "fake_llm.log")
    try:
        yield {**env, **chat_load.ai_environment(fake_llm_url)}, "openai"
    finally:
        fake_llm.stop()


def test_fifty_artists_at_once_lose_no_answer_and_no_connection(reply_path):
    env, provider = reply_path
    server, base_url = start_daphne(env)
    try:
        load = chat_load.Load([base_url], ARTISTS, THINK, RAMP)
        load.start()
        load.through()
        results = load.finish()
    finally:
        server.stop()

    assert chat_load.troubles(results) == []
    turns = ARTISTS * len(chat_load.ANSWERS)
    assert chat_load.database_check(results, "product") == chat_load.Rows(
        sent=turns, stored=turns, finished=turns, replied=turns, complete=ARTISTS, seven=ARTISTS,
        providers=Counter({provider: turns}))
    # Daphne's "Application instance … took too long to shut down": a closed socket's consumer still
    # finishing after its artist left (our part of it is bounded, chat.consumers). That is neither
    # a lost answer nor a failed connection, which the checks above catch; every other warning fails.
    problems = chat_load.log_problems(server.output)
    assert Counter({line: n for line, n in problems.items() if not line.startswith(SLOW_SHUTDOWN)}) == Counter()
