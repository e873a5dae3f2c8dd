"""The chat's database work, off Channels' one database thread.

`database_sync_to_async` is thread-sensitive: every chat's database work in a process queues
behind a single thread, which at a few hundred artists is busy most of the time, mostly waiting
on Postgres. Each call the chat makes is a unit of its own, though: one transaction (an answer
saved, a reply recorded, a panel change, each locking the rows it changes) or reads of rows
already committed (a turn's fragments). None needs a connection shared with another call, so
they run on a pool of DATABASE_POOL_MAX threads, as many as the process's pooled connections
(presskit.settings): a call holds a connection only while it runs, and never waits for a thread
when a connection is free. Like `database_sync_to_async`, a call closes its thread's old
connections before and after (which returns a pooled one to the pool).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from channels.db import DatabaseSyncToAsync
from django.conf import settings

P = ParamSpec("P")
R = TypeVar("R")

_executor = ThreadPoolExecutor(max_workers=settings.DATABASE_POOL_MAX, thread_name_prefix="chat-db")


def in_database_pool(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`fn` (a unit of database work) as a coroutine function run on the chat's database threads."""
    return DatabaseSyncToAsync(fn, thread_sensitive=False, executor=_executor)
