"""The suite runs in pytest-xdist workers (pyproject.toml's addopts: `-n auto`, at most
MAX_WORKERS). Each worker owns what the suite assumes it owns alone: the Redis database it
flushes (REDIS_URL's database number plus the worker's), and a data folder of its own (the
collected static files, uploads, exports, the SQLite file); pytest-django gives each worker its
own test database. Set in the environment before Django reads its settings, so the servers and
Celery workers a test starts get the same (tests.servers.server_environment copies it)."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

MAX_WORKERS = 4  # Redis has databases 0-15 by default; CI's suite starts at 5, its drift run at 9


def _worker_redis_url(url: str, index: int) -> str:
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + index
    return parts._replace(path=f"/{database}").geturl()


@pytest.hookimpl(tryfirst=True)  # before pytest-django's own, which reads the settings
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1"... (xdist sets it in each worker)
    if not worker:
        return
    index = int(worker.removeprefix("gw"))
    if index >= MAX_WORKERS:
        raise pytest.UsageError(f"at most {MAX_WORKERS} test workers (tests/workers.py): Redis databases run out")
    os.environ["REDIS_URL"] = _worker_redis_url(os.environ["REDIS_URL"], index)
    data_dir = Path(os.environ.get("PRESSKIT_DATA_DIR") or Path(__file__).resolve().parent.parent / "var")
    os.environ["PRESSKIT_DATA_DIR"] = str(data_dir / f"test-{worker}")
