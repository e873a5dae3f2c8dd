"""The Redis a benchmark runs on: REDIS_URL when set, else an embedded one of its own."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from presskit.embedded_redis import EmbeddedRedis


@contextmanager
def bench_redis(data_dir: Path) -> Iterator[str]:
    """Its URL, for the `with` block (an embedded server is stopped at the end)."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    embedded = EmbeddedRedis(data_dir / "redis", persistent=False)
    try:
        yield embedded.start()
    finally:
        embedded.stop()
