"""The chat's database work runs on a few threads of its own (chat.db): CHAT_DATABASE_THREADS,
off Channels' one database thread, and no more of them, as they share the GIL with the loop."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from chat.db import in_database_pool

pytestmark = pytest.mark.asyncio


def _thread_after(seconds: float) -> str:
    time.sleep(seconds)  # every call overlaps the others: a free thread would take the next one
    return threading.current_thread().name


async def test_the_chats_database_calls_share_chat_database_threads_threads(settings):
    names = await asyncio.gather(*(in_database_pool(_thread_after)(0.05) for _ in range(6)))
    assert len(set(names)) == settings.CHAT_DATABASE_THREADS == 2
    assert all(name.startswith("chat-db") for name in names)
