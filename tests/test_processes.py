"""Across real processes: a server restart resumes the chat; the README's run command works
and leaves nothing running after Ctrl-C."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys

import psutil
import pytest

from presskit.embedded_redis import free_local_port
from tests.servers import (
    REPO, BrowserLikeClient, ServerProcess, server_environment, socket_answer, start_daphne, database_url_of_test_db,
    wait_until_serving,
)

pytestmark = pytest.mark.subprocess


@pytest.mark.django_db(transaction=True)
def test_a_server_restart_resumes_the_chat_at_the_same_step():
    env = server_environment(DATABASE_URL=database_url_of_test_db())
    server, base_url = start_daphne(env)
    browser = BrowserLikeClient(base_url)
    try:
        _, chat_id = browser.open_page()
        with browser.open_socket(chat_id) as chat:
            assert "Paso 1 de 7" in chat.recv(timeout=10)
            for text in ["Luna Roja", "house, techno", "desde 2014"]:
                socket_answer(chat, text)
    finally:
        server.stop()

    port = int(base_url.rsplit(":", 1)[1])
    server, base_url = start_daphne(env, port=port)
    try:
        page, resumed_id = browser.open_page()
        assert resumed_id == chat_id
        assert "Paso 4 de 7" in page and "desde 2014" in page
        with browser.open_socket(chat_id) as chat:
            state = chat.recv(timeout=10)
            assert "Paso 4 de 7" in state and "Luna Roja" in state
            frames = socket_answer(chat, "Madrid")
            assert "Paso 5 de 7" in frames[-1]
    finally:
        server.stop()


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_run_command_serves_the_chat_and_ctrl_c_stops_everything(tmp_path):
    port = free_local_port()
    env = server_environment(PRESSKIT_DATA_DIR=str(tmp_path / "data"), PORT=str(port))
    for name in ("REDIS_URL", "DATABASE_URL"):
        env.pop(name, None)  # the embedded default: SQLite and an embedded Redis
    run = ServerProcess(["make", "run"], env)
    base_url = f"http://127.0.0.1:{port}"
    children: list[psutil.Process] = []
    try:
        wait_until_serving(base_url, timeout=120, server=run)
        run.wait_for_output(r"celery@\S+ ready")
        run.wait_for_output(r"beat: Starting")
        children = psutil.Process(run.process.pid).children(recursive=True)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        for expected in ("redis-server", "daphne", "celery -A presskit worker", "celery -A presskit beat"):
            assert expected in names

        browser = BrowserLikeClient(base_url)
        _, chat_id = browser.open_page()
        with browser.open_socket(chat_id) as chat:
            assert "Paso 1 de 7" in chat.recv(timeout=10)
            assert "Paso 2 de 7" in socket_answer(chat, "Luna Roja")[-1]
    finally:
        run.signal_group(signal.SIGINT)  # what Ctrl-C does in a terminal
        run.process.wait(timeout=90)

    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"still running after Ctrl-C: {[p.pid for p in alive]}\n{run.output[-3000:]}"
    assert _port_is_free(port)
    # Stopped in order, users first: Redis last, and by the supervisor, not by the Ctrl-C itself.
    stopped = [line.split("] ")[1].split()[0] for line in run.lines if line.startswith("[stack]") and "stopped" in line]
    assert stopped == ["beat", "worker", "daphne", "embedded"], run.output[-3000:]
    redis_log = (tmp_path / "data" / "redis" / "redis.log").read_text()
    assert "Received SIGTERM" in redis_log and "Received SIGINT" not in redis_log
    assert "Connection to broker lost" not in run.output


def test_manage_commands_run_without_redis_url(tmp_path):
    env = server_environment(PRESSKIT_DATA_DIR=str(tmp_path))
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-m", "presskit.stack", "manage", "check"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "[stack] embedded Redis stopped" in result.stdout


def test_the_app_daphne_loads_tunes_the_garbage_collector_and_freezes_what_it_loaded():
    """Daphne imports presskit.asgi: from then on young collections are rare and the loaded app
    (~300 k objects) is never visited by a full collection (presskit/collector.py)."""
    env = server_environment(GC_THRESHOLDS="30000,12,90")
    code = "import gc, presskit.asgi; print(*gc.get_threshold(), gc.get_freeze_count())"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    *threshold, frozen = map(int, result.stdout.split())
    assert threshold == [30000, 12, 90]
    assert frozen > 100_000
