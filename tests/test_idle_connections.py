"""A chat socket on a real Daphne left idle for longer than twice the longest blocking read the
stack makes on Redis (tests.servers.IDLE_SECONDS), then pushed a banner and sent an answer.

It guards the Redis clients' timeouts (presskit/settings.py, "Redis timeouts"): redis-py 8 turned
its socket timeout from "none" into 5 s, channels-redis blocks 5 s in BZPOPMIN on that socket,
and every idle chat was cut with 1011 after five seconds while every other test passed
(redis/redis-py#4091). CI runs the `idle` tests on the locked versions and again on the newest
redis-py 7 and 8 (`.ci/run`); tests/queue_worker/test_idle_worker.py is the worker's twin.
"""
from __future__ import annotations

import uuid

import pytest

from resilience import degradation
from resilience.degradation import Level, degradation_force, degradation_release
from tests.servers import (
    IDLE_SECONDS, REDIS_TROUBLE, BrowserLikeClient, database_url_of_test_db, server_environment, socket_answer,
    start_daphne,
)

pytestmark = [pytest.mark.subprocess, pytest.mark.idle, pytest.mark.django_db(transaction=True)]

BANNER = "Usando modo de respaldo para garantizar el servicio."


@pytest.fixture
def own_prefix(settings) -> str:
    """A Redis key prefix shared by the test process and the servers it starts: a level forced
    here is broadcast on the channel layer the server listens to, and nowhere else."""
    prefix = f"idle-{uuid.uuid4().hex[:10]}"
    settings.REDIS_KEY_PREFIX = prefix
    settings.RESILIENCE_KEY_PREFIX = f"{prefix}:resilience"
    layers = {name: {**layer, "CONFIG": {**layer["CONFIG"], "prefix": f"{prefix}:asgi"}}
              for name, layer in settings.CHANNEL_LAYERS.items()}
    settings.CHANNEL_LAYERS = layers  # channels drops its cached layers when this setting changes
    degradation.reset_manager()
    yield prefix
    degradation.reset_manager()


def test_an_idle_chat_socket_still_gets_pushed_fragments_and_answers(own_prefix):
    env = server_environment(DATABASE_URL=database_url_of_test_db(), REDIS_KEY_PREFIX=own_prefix)
    server, base_url = start_daphne(env)
    browser = BrowserLikeClient(base_url)
    try:
        _, chat_id = browser.open_page()
        with browser.open_socket(chat_id) as chat:
            assert "Paso 1 de 7" in chat.recv(timeout=10)
            # The artist reads, thinks, makes coffee: nothing comes, and the socket stays open
            # (a closed one raises ConnectionClosed here instead of TimeoutError).
            with pytest.raises(TimeoutError):
                chat.recv(timeout=IDLE_SECONDS)

            degradation_force(level=Level.DEGRADED, reason="idle socket test")
            frame = chat.recv(timeout=10)
            while 'id="degraded-banner"' not in frame:
                frame = chat.recv(timeout=10)
            assert BANNER in frame

            frames = socket_answer(chat, "Luna Roja")
            assert "Paso 2 de 7" in frames[-1]
    finally:
        degradation_release(reason="idle socket test over")
        server.stop()
    assert not REDIS_TROUBLE.search(server.output), server.output[-4000:]

