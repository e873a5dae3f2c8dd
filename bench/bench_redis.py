"""The Redis a benchmark runs on: REDIS_URL when set, else an embedded one of its own; and the
whole Django project a benchmark of served pages runs against."""
from __future__ import annotations

import os
import tempfile
import uuid
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


@contextmanager
def bench_project(name: str) -> Iterator[str]:
    """Django set up, migrated and its static files collected, on DATABASE_URL when set (else a
    throw-away SQLite file) and `bench_redis`, under a key prefix of its own; yields a line
    naming the database and Redis. Servers started in the block inherit the environment."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    with bench_redis(data_dir) as redis_url:
        os.environ.update({
            "REDIS_URL": redis_url, "PRESSKIT_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "presskit.settings",
            "REDIS_KEY_PREFIX": f"bench-{name}-{uuid.uuid4().hex[:8]}", "ALLOWED_HOSTS": "localhost,127.0.0.1",
        })
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{data_dir / 'bench.sqlite3'}")
        import django
        from django.conf import settings
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        yield f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[1]}, Redis {settings.REDIS_URL}"
