"""Python's cyclic garbage collector, tuned for a long-lived server process (Daphne).

With CPython's default thresholds (700, 10, 10) the objects of a handshake or a turn that are
still alive when a young collection runs (every 700 allocations: often) are promoted to the
old generation, and every few seconds a full collection visits every object in the process with
the event loop stopped: at 5,000 open sockets (1.3 M objects) each took 1.0–1.15 s, so handshakes
queued, the overload guard refused new chats and a service-level broadcast waited behind it
(bench/idle_sockets.py). A larger first threshold lets those short-lived objects die by reference
counting before any collection sees them, so few reach the old generation and full collections
become rare. What exists once the app is loaded (modules, settings, URL patterns, compiled
templates) lives as long as the process: it is frozen out of every collection.
"""
from __future__ import annotations

import gc

from django.conf import settings


def collector_tuned() -> None:
    """GC_THRESHOLDS applied, and the process's objects of now frozen (call once the app is loaded)."""
    gc.set_threshold(*settings.GC_THRESHOLDS)
    gc.collect()  # nothing that is already garbage gets frozen
    gc.freeze()
