"""An active check of an AI provider, for the degradation manager's health checks.

A provider behind a healthy one is never asked during chats, so its breaker would stay open
long after it recovered. When its recovery timeout has passed, the periodic evaluation asks it
one tiny question through its breaker (the HALF_OPEN probe): success closes the breaker.
"""
from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from chat.chain import text_stream_for
from chat.providers.ai import AIMember, Deadlines
from chat.providers.base import ReplyKind, ReplyRequest

logger = logging.getLogger(__name__)

PROBE_SECONDS = 2.0
PROBE_REQUEST = ReplyRequest(session_id="health-probe", language="es", kind=ReplyKind.RESUME, step=1, next_step=1)


class _Nowhere:
    async def token(self, text: str) -> None:
        pass


def probe_ai_provider(name: str) -> bool:
    """Ask the provider one short question through its breaker. Sync: for the Celery worker."""
    stream = text_stream_for(name)
    if stream is None:
        return False
    # Short deadlines: the probe runs inside the health checks' time budget.
    member = AIMember(stream, Deadlines(first_token=min(settings.AI_FIRST_TOKEN_TIMEOUT, PROBE_SECONDS),
                                        total=PROBE_SECONDS, idle=min(settings.AI_STREAM_IDLE_TIMEOUT, PROBE_SECONDS)))

    async def ask() -> str:
        try:
            return await member.write(PROBE_REQUEST, _Nowhere())
        finally:
            await stream.client.close()

    try:
        return bool(asyncio.run(ask()))
    except Exception as error:  # the provider is still down, or its breaker refused the probe
        logger.info("AI provider %s health probe failed: %s", name, type(error).__name__)
        return False
