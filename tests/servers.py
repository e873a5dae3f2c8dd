"""Real server processes for tests that cross process boundaries (restart, the run command)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from channels_redis.core import RedisChannelLayer
from django.db import connection
from kombu.transport.redis import Transport as KombuRedisTransport
from websockets.sync.client import ClientConnection, connect

from presskit.embedded_redis import free_local_port
from tests.conftest import is_turn_end

REPO = Path(__file__).resolve().parent.parent

# The longest block on Redis (channels-redis's BZPOPMIN, kombu's BRPOP), read from the libraries
# so that a release blocking longer makes the idle tests wait longer too; they idle twice that.
LONGEST_REDIS_BLOCK = max(RedisChannelLayer.brpop_timeout, KombuRedisTransport.brpop_timeout)
IDLE_SECONDS = 2 * LONGEST_REDIS_BLOCK + 2
# What a server logs when a Redis client gives up on a read: none of it may appear.
REDIS_TROUBLE = re.compile(r"TimeoutError|Timeout reading|Connection to broker lost|1011")


def database_url_of_test_db() -> str:
    """A DATABASE_URL naming the database this test runs on, for server processes to share."""
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    credentials = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{credentials}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{settings['NAME']}"


class ServerProcess:
    """A child in its own process group, its output kept for assertions and failure reports."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_output(self, pattern: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.output):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never appeared; output:\n{self.output[-4000:]}")

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.signal_group(signum)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            return self.process.wait()


def wait_until_serving(base_url: str, timeout: float = 60, server: ServerProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server is not None and server.process.poll() is not None:
            raise AssertionError(f"server exited early:\n{server.output[-4000:]}")
        time.sleep(0.2)
    raise AssertionError(f"{base_url} did not answer within {timeout} s")


def start_daphne(env: dict[str, str], port: int | None = None) -> tuple[ServerProcess, str]:
    port = port or free_local_port()
    server = ServerProcess(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "presskit.asgi:application"],
        env,
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_until_serving(base_url, server=server)
    return server, base_url


class BrowserLikeClient:
    """What a browser does: keep the session cookie, open the page, then its chat socket."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10)

    def open_page(self) -> tuple[str, str]:
        response = self.http.get("/")
        response.raise_for_status()
        chat_id = re.search(r'ws-connect="/ws/chat/([0-9a-f-]+)/"', response.text).group(1)
        return response.text, chat_id

    def open_socket(self, chat_id: str) -> ClientConnection:
        return self.open_path(f"/ws/chat/{chat_id}/")

    def open_path(self, path: str) -> ClientConnection:
        ws_url = self.base_url.replace("http://", "ws://") + path
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        return connect(ws_url, additional_headers={"Cookie": cookie, "Origin": self.base_url}, open_timeout=10)


def socket_answer(socket: ClientConnection, text: str, timeout: float = 10) -> list[str]:
    socket.send(json.dumps({"message": text, "HEADERS": {"HX-Request": "true"}}))
    frames = []
    while True:
        frames.append(socket.recv(timeout=timeout))
        if is_turn_end(frames[-1]):
            return frames


def server_environment(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"CHAT_TEMPLATE_TOKEN_DELAY": "0", "PYTHONUNBUFFERED": "1",
                # As in-process tests (tests/conftest.py, no_chat_limits): a test is not an artist.
                "CHAT_TURN_LIMITS": "", "CLIENT_CHATS_LIMIT": "", "CLIENT_SOCKETS_MAX": "1000000",
                "LOAD_SHED_LAG_MS": "0"})
    env.update(overrides)
    return env
