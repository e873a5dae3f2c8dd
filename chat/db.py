"""The chat's database work, off Channels' one database thread.

`database_sync_to_async` is thread-sensitive: every chat's database work in a process queues
behind a single thread, which at a few hundred artists is busy most of the time, mostly waiting
on Postgres. Each call the chat makes is a unit of its own, though: one transaction (an answer
saved, a reply recorded, a panel change, each locking the rows it changes) or reads of rows
already committed (a turn's fragments). None needs a connection shared with another call, so
they run on a pool of threads of their own: CHAT_DATABASE_THREADS, at most two fewer than the
process's pooled connections (DATABASE_POOL_MAX), so the page views and the other work of the
process always find one. Few: each thread's ORM work holds the GIL the event loop needs, and with
8 of them at 400 artists the loop waited behind their turns (bench/chat_load.py: p99 first word
161–178 ms, 87–103 ms with 2). A call holds a connection only while it runs, and closes its
thread's old connections before and after (which returns a pooled one to the pool).
"""
from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import close_old_connections

from resilience import overload

P = ParamSpec("P")
R = TypeVar("R")
CONNECTIONS_LEFT_TO_OTHERS = 2

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _database_threads() -> ThreadPoolExecutor:
    """Built on first use (settings are read then, not at import)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            threads = max(1, min(settings.CHAT_DATABASE_THREADS,
                                 settings.DATABASE_POOL_MAX - CONNECTIONS_LEFT_TO_OTHERS))
            _executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chat-db")
            # Turns queueing here is overload even while the event loop is on time: shed then too.
            overload.pool_watched("chat database work", _executor)
        return _executor


def _closing(fn: Callable[P, R]) -> Callable[P, R]:
    # Django's own close, not channels.db's: Channels' test communicator turns that one off, and
    # these threads are never a test's own.
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return run


def in_database_pool(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`fn` (a unit of database work) as a coroutine function run on the chat's database threads."""
    return SyncToAsync(_closing(fn), thread_sensitive=False, executor=_database_threads())
