"""Many artists chatting at once, as browsers do, against real Daphne processes (issue 19).

    .venv/bin/python bench/chat_load.py [--artists 150] [--daphnes 1|2] [--path template|ai]
        [--target product|floor] [--think 2-4] [--ramp 10] [--workers 1] [--profile]

Each artist is a browser: GET / (its cookies kept: the signed `presskit_new_chat`, csrftoken; the
page names its chat's socket), the WebSocket with those cookies and the page's Origin, then the
seven answers (valid ones) as the htmx ws extension sends them (the composer's form values and
HEADERS, as JSON), `--think` seconds (uniform) after each finished reply before the next answer.
Its socket stays open until every artist is done. Artists start spread over `--ramp` seconds,
round-robin over `--daphnes` Daphne processes started here; each is its own client (X-Real-IP
from a trusted proxy, as behind deploy/nginx.conf), so the per-client limits apply as in
production. The generator is one asyncio process per `--workers`. No Celery worker runs. An
artist a busy server turns away (load shedding: the 503 page, a socket closed with 4013
"overloaded") comes back as a browser does (after Retry-After; the page's reconnect backoff) and
is counted as turned away, not as failed.

Measured, per answer: answer → the answer shown back (saved), → first reply word (the first frame
carrying reply text), → finished reply (the frame carrying the finished message: for the seventh
answer it comes before the bio), → turn done (the frame carrying #progress, which ends every turn;
shown for the seventh answer, whose turn ends after the bio): p50, p95, p99, max; first reply word
also for the answers sent once every artist is in (no newcomer's page load or handshake competing).
Also the page load and the handshake (to the state frame); errors: page loads, handshakes,
unexpected closes, turns refused or timed out; answers per second; per Daphne its CPU seconds over
the run (page loads and sockets included: user and system), per answer (split: its event loop's
thread, the others) and as a share of a core, and its peak RSS (psutil); the CPU of the generator,
the fake LLM, Postgres and Redis (with their other clients), and what other processes took of the
machine meanwhile. Then a row-by-row check in the database: every answer sent is stored, in order,
and every turn has its reply, the same text the browser was shown (the floor: its 20 frames); and
each Daphne's warnings and errors, counted.

- `--path template` (default): the built-in template responder at its word delay
  (CHAT_TEMPLATE_TOKEN_DELAY), no AI provider configured.
- `--path ai`: OpenAI is the fake LLM server (bench/timed_fake_llm.py: chat.fake_llm streaming 30
  tokens 20 ms apart, the bios too); also measured: our overhead, answer frame sent → the
  provider's request arrived, and the part of it after the save (the answer shown back → that
  request: the answer is saved before any provider is asked; below zero when the echo's own frame
  is slower than the request, as on a busy machine), and per-token forwarding, the fake
  writing a token → the browser receiving the frame that carries it, its wait for that frame
  included (CHAT_STREAM_FRAME_SECONDS; one clock: time.time() on this machine).
- `--target floor`: Daphne serves bench/channels_floor.py instead, the bare Channels floor (one ORM
  write and 20 frames per message), measured the same way.
- `--profile`: py-spy (PY_SPY, or on PATH) samples the first Daphne's GIL-holding threads
  (`--gil --nonblocking`, so it hardly slows the server; it sees only part of the CPU time) for
  `--profile-seconds` once the ramp is over: the threads, libraries and functions by own time, and
  the product's own functions by inclusive time. The raw samples stay in the run's data folder.

Uses DATABASE_URL when set (e.g. PostgreSQL), else a throw-away SQLite file; REDIS_URL when set,
else an embedded Redis. Prints figures; asserts nothing (tests/test_chat_load.py runs it small, 50
artists, and fails on any error or row lost, never on a figure).
"""
from __future__ import annotations

import argparse
import asyncio
import html
import json
import logging
import multiprocessing
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_redis import bench_project  # noqa: E402
from public_page import ms, percentile  # noqa: E402

ARTIST_NAME = "Artista B{number:04d}"  # bench/timed_fake_llm.py finds the artist by this number
ARTIST_NUMBER = r"Artista B(\d+)"
ANSWERS = (ARTIST_NAME, "house, techno melódico", "desde 2014", "Madrid; salas y festivales de España",
           "Empecé pinchando los vinilos de mi padre en Vallecas y hoy toco en festivales de toda España.",
           "@lunaroja soundcloud.com/lunaroja", "booking@lunaroja.com")
APPLICATIONS = {"product": "presskit.asgi:application", "floor": "bench.channels_floor:application"}
# The servers' environment: warnings and up logged; each artist a client of its own behind a proxy
# (deploy/nginx.conf), so the per-client limits apply as in production; no AI provider but the
# template responder.
SERVER_ENVIRONMENT = {"LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", "CLIENT_IP_HEADER": "X-Real-IP",
                      "CLIENT_IP_TRUSTED_PROXIES": "127.0.0.1/32", "AI_PROVIDER_CHAIN": "template"}
TURN_TIMEOUT = 60.0  # seconds an answer may wait for its turn to end
CONNECT_TIMEOUT = 30.0
SHED_RETRIES = 12  # times a browser comes back after a busy server turned it away
CLOSE_TRY_AGAIN_LATER = 4013  # chat.consumers (Daphne passes no close reason: the chat's fragment says why)
PROFILE_RATE = 100  # py-spy samples per second
FLOOR_WORDS = 19  # bench/channels_floor.py: its 20 frames per message, the last one ending the turn

CHAT_ID = re.compile(r'ws-connect="/ws/chat/([0-9a-f-]+)/"')
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WORD_FRAME = re.compile(r'<span id="stream-text" hx-swap-oob="beforeend">(.*)</span>\s*', re.DOTALL)
DISCARD_FRAME = '<div id="stream" class="stream" hx-swap-oob="true"></div>'
ERROR_SHOWN = re.compile(r'id="chat-error"[^>]*>([^<]+)<')


# --- One browser ---------------------------------------------------------------------------------------
def client_address(number: int) -> str:
    """The artist's address as the proxy names it (198.18.0.0/15: set aside for benchmarks)."""
    return f"198.18.{(number + 1) // 256}.{(number + 1) % 256}"


def answer_frame(text: str, csrf: str, base_url: str) -> str:
    """What the htmx ws extension sends for the composer: its form values and HEADERS."""
    return json.dumps({"csrfmiddlewaretoken": csrf, "message": text, "HEADERS": {
        "HX-Request": "true", "HX-Trigger": "composer", "HX-Trigger-Name": None, "HX-Target": "composer",
        "HX-Current-URL": f"{base_url}/"}})


def turn_new(step: int, text: str) -> dict:
    return {"step": step, "text": text, "sent": None, "echo": None, "first": None, "reply": None, "done": None,
            "tokens": [], "discards": 0, "error": None}


async def turn_run(socket: ClientConnection, turn: dict, csrf: str, base_url: str) -> None:
    """One answer and the frames it brings, each noted in `turn` with its arrival time."""
    turn["sent"] = time.time()
    await socket.send(answer_frame(turn["text"], csrf, base_url))
    async with asyncio.timeout(TURN_TIMEOUT):
        while True:
            frame = await socket.recv()
            now = time.time()
            if word := WORD_FRAME.fullmatch(frame):
                turn["first"] = turn["first"] or now
                turn["tokens"].append((now, html.unescape(word.group(1))))
            elif 'id="progress"' in frame:
                turn["reply"] = turn["reply"] or now
                turn["done"] = now
                return
            elif error := ERROR_SHOWN.search(frame):
                turn["error"] = html.unescape(error.group(1)).strip()
                return
            elif frame.strip() == DISCARD_FRAME:  # a provider failed mid-reply: its words go
                turn["discards"] += 1
                turn["tokens"].clear()
            elif "msg--user" in frame:
                turn["echo"] = turn["echo"] or now
            elif "msg--assistant" in frame and 'id="messages"' in frame:  # the reply, the bio to come
                turn["reply"] = now


async def page_load(http: httpx.AsyncClient, result: dict) -> httpx.Response:
    """GET / as a browser does, coming back after a busy page's Retry-After (as its refresh does)."""
    for _ in range(SHED_RETRIES):
        page = await http.get("/", headers={"Accept": "text/html"})
        if page.status_code != 503 or "retry-after" not in page.headers:
            return page
        result["shed"]["page"] += 1
        await asyncio.sleep(float(page.headers["retry-after"]))
    return page


async def artist_turns(number: int, base_url: str, start_at: float, think: tuple[float, float],
                       tls: ssl.SSLContext) -> tuple[dict, ClientConnection | None]:
    """The artist's page, socket and seven answers; its socket is returned, still open unless the
    server closed it (None if there is none). Turned away by a busy server (a 503 page, a socket
    closed with 4013 "overloaded"), it comes back as the browser would: counted in `shed`."""
    result = {"number": number, "base_url": base_url, "chat_id": None, "failure": None, "closed": None,
              "page": None, "handshake": None, "turns": [], "shed": Counter()}
    pace = random.Random(number)
    headers = {"X-Real-IP": client_address(number), "Accept-Language": "es-ES,es;q=0.9"}
    await asyncio.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=CONNECT_TIMEOUT, headers=headers, verify=tls,
                                     trust_env=False) as http:
            page = await page_load(http, result)
            cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    except httpx.HTTPError as error:
        result["failure"] = f"page: {type(error).__name__}"
        return result, None
    chat_id, csrf = CHAT_ID.search(page.text), CSRF_TOKEN.search(page.text)
    if page.status_code != 200 or chat_id is None:
        result["failure"] = f"page: HTTP {page.status_code}"
        return result, None
    result["page"], result["chat_id"] = time.time() - started, chat_id.group(1)
    csrf = csrf.group(1) if csrf else ""
    started = time.time()
    for attempt in range(SHED_RETRIES):
        try:
            socket = await connect(f"{base_url.replace('http://', 'ws://')}/ws/chat/{result['chat_id']}/",
                                   origin=base_url, additional_headers={"Cookie": cookie, **headers},
                                   open_timeout=CONNECT_TIMEOUT, ping_interval=None, max_size=None, proxy=None)
        except (OSError, TimeoutError, WebSocketException) as error:
            result["failure"] = f"handshake: {type(error).__name__}"
            return result, None
        try:
            state = await asyncio.wait_for(socket.recv(), CONNECT_TIMEOUT)
        except (TimeoutError, ConnectionClosed) as error:
            result["failure"] = f"handshake: {type(error).__name__} {socket.close_code or ''}".strip()
            return result, socket
        if 'id="progress"' in state:
            break
        await socket.wait_closed()
        if socket.close_code != CLOSE_TRY_AGAIN_LATER:  # refused for good, with a reason
            reason = ERROR_SHOWN.search(state)
            result["failure"] = f"handshake: refused ({html.unescape(reason.group(1)).strip() if reason else state[:80]})"
            return result, socket
        result["shed"]["socket"] += 1
        await asyncio.sleep(pace.uniform(0, min(30.0, 2.0 ** attempt)))  # static/js/chat.js's backoff
    else:
        result["failure"] = "handshake: still turned away"
        return result, None
    result["handshake"] = time.time() - started
    for step, text in enumerate(ANSWERS, start=1):
        if step > 1:
            await asyncio.sleep(pace.uniform(*think))
        turn = turn_new(step, text.format(number=number))
        result["turns"].append(turn)
        try:
            await turn_run(socket, turn, csrf, base_url)
        except TimeoutError:
            turn["error"] = "timed out"
        except ConnectionClosed:
            result["closed"] = f"{socket.close_code} at step {step}"
            break
        if turn["error"]:
            break
    return result, socket


async def artists_run(config: dict, numbers: list[int], finished, close) -> list[dict]:
    """This worker's artists; `finished()` once all are through their turns; their sockets stay
    open until `close` (a multiprocessing Event) is set."""
    tls = ssl.create_default_context()  # one for all clients: httpx would load the CA file per client
    count, base_urls = config["artists"], config["base_urls"]
    through = await asyncio.gather(*(
        artist_turns(number, base_urls[number % len(base_urls)], config["start_at"] + number * config["ramp"] / count,
                     config["think"], tls)
        for number in numbers))
    finished()
    await asyncio.to_thread(close.wait)
    for result, socket in through:
        if socket is not None and socket.close_code is not None and not (result["closed"] or result["failure"]):
            result["closed"] = f"{socket.close_code} while idle"
    await asyncio.gather(*(socket.close() for _, socket in through if socket is not None))
    return [result for result, _ in through]


def worker_main(config: dict, numbers: list[int], events, close) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results = asyncio.run(artists_run(config, numbers, lambda: events.put(("finished", None)), close))
    events.put(("results", {"results": results, "cpu": time.process_time()}))


class Load:
    """`artists` browsers spread over `base_urls`, started over `ramp` seconds, thinking `think`
    seconds, in `workers` generator processes (spawned, an asyncio loop each; daemonic, they go
    with this process). start(); through() returns once every artist is through its turns, their
    sockets still open; finish() closes them and returns what each artist went through
    (artist_turns), by number; then `generator_cpu` is the workers' CPU seconds."""

    def __init__(self, base_urls: list[str], artists: int, think: tuple[float, float], ramp: float,
                 workers: int = 1) -> None:
        self.config = {"artists": artists, "base_urls": base_urls, "ramp": ramp, "think": think}
        self.context = multiprocessing.get_context("spawn")
        self.events, self.close = self.context.Queue(), self.context.Event()
        self.shares = [list(range(index, artists, workers)) for index in range(workers)]
        self.workers: list[multiprocessing.process.BaseProcess] = []

    @property
    def ramped_at(self) -> float:
        """When the last artist starts."""
        return self.config["start_at"] + self.config["ramp"]

    def start(self) -> None:
        self.config["start_at"] = time.time() + 1.5  # the workers' imports first
        self.workers = [self.context.Process(target=worker_main, args=(self.config, numbers, self.events, self.close),
                                             daemon=True) for numbers in self.shares]
        for worker in self.workers:
            worker.start()

    def through(self) -> None:
        deadline = self.ramped_at + len(ANSWERS) * (self.config["think"][1] + TURN_TIMEOUT) + 60
        for _ in self.workers:
            self.events.get(timeout=max(1.0, deadline - time.time()))  # ("finished", None)

    def finish(self) -> list[dict]:
        self.close.set()
        outcomes = [self.events.get(timeout=120)[1] for _ in self.workers]
        for worker in self.workers:
            worker.join()
        self.generator_cpu = sum(outcome["cpu"] for outcome in outcomes)
        return sorted((result for outcome in outcomes for result in outcome["results"]), key=lambda r: r["number"])


# --- The servers ---------------------------------------------------------------------------------------
class Server:
    """A child process of this benchmark, its output in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                            stderr=subprocess.STDOUT)

    def wait_until(self, url: str) -> None:
        for _ in range(300):
            if self.process.poll() is not None:
                raise SystemExit(f"{self.process.args} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{url} did not answer")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def daphne_start(application: str, env: dict[str, str], log: Path) -> tuple[Server, str]:
    from presskit.embedded_redis import free_local_port

    port = free_local_port()
    server = Server([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), application], env, log)
    base_url = f"http://127.0.0.1:{port}"
    server.wait_until(f"{base_url}/healthz")
    return server, base_url


def fake_llm_start(env: dict[str, str], log: Path) -> tuple[Server, str]:
    from presskit.embedded_redis import free_local_port

    port = free_local_port()
    server = Server([sys.executable, str(REPO / "bench" / "timed_fake_llm.py"), "--port", str(port),
                     "--artist", ARTIST_NUMBER], env, log)
    base_url = f"http://127.0.0.1:{port}"
    server.wait_until(f"{base_url}/_fake/health")
    return server, base_url


def ai_environment(fake_llm_url: str) -> dict[str, str]:
    """The servers' environment for the AI path: OpenAI is the fake LLM server, then the template."""
    return {"AI_PROVIDER_CHAIN": "openai,template", "OPENAI_API_KEY": "fake",
            "OPENAI_BASE_URL": f"{fake_llm_url}/openai/v1"}


class Sampler:
    """CPU seconds of the Daphnes, of the fake LLM server, of Postgres' and Redis' processes (all of
    them: other clients count too), of this process and of the machine, from start() to stop();
    the Daphnes' peak RSS, every 0.2 s."""

    SERVICES = ("postgres", "redis-server")

    def __init__(self, daphnes: list[int], fake_llm: int | None) -> None:
        import psutil

        self.psutil = psutil
        self.daphnes = [psutil.Process(pid) for pid in daphnes]
        self.fake_llm = psutil.Process(fake_llm) if fake_llm else None
        self.peak_rss = [0] * len(daphnes)
        self.stopping = threading.Event()
        self.services_first: dict[int, tuple[str, float]] = {}  # pid -> (name, CPU seconds when first seen)
        self.services_last: dict[int, float] = {}

    def _services_sample(self, first: bool) -> None:
        """Backends come and go: each process counts from when it was first seen (from 0 if it
        started meanwhile) to when it was last seen."""
        for process in self.psutil.process_iter(["name", "cpu_times"]):
            name, times = process.info["name"], process.info["cpu_times"]
            if name in self.SERVICES and times is not None:
                self.services_first.setdefault(process.pid, (name, times.user + times.system if first else 0.0))
                self.services_last[process.pid] = times.user + times.system

    def _cpu(self) -> list[tuple[float, float]]:
        return [tuple(process.cpu_times()[:2]) for process in self.daphnes]

    def _loop_cpu(self) -> list[float]:
        """Each Daphne's main thread, its event loop (the others: the database threads, page views)."""
        return [next((t.user_time + t.system_time for t in process.threads() if t.id == process.pid), 0.0)
                for process in self.daphnes]

    def _fake_llm_cpu(self) -> float:
        return sum(self.fake_llm.cpu_times()[:2]) if self.fake_llm else 0.0

    def start(self) -> None:
        self.started = time.time()
        self.cpu_start, self.machine_start, self.loop_start = self._cpu(), self.psutil.cpu_times(), self._loop_cpu()
        self.fake_llm_start, self.own_start = self._fake_llm_cpu(), time.process_time()
        self._services_sample(first=True)
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        ticks = 0
        while not self.stopping.wait(0.2):
            for index, process in enumerate(self.daphnes):
                self.peak_rss[index] = max(self.peak_rss[index], process.memory_info().rss)
            ticks += 1
            if ticks % 5 == 0:
                self._services_sample(first=False)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self._services_sample(first=False)
        self.wall = time.time() - self.started
        ends = self._cpu()
        self.cpu_user, self.cpu_system = ([end[part] - start[part] for start, end in zip(self.cpu_start, ends)]
                                          for part in (0, 1))
        self.own_cpu = time.process_time() - self.own_start
        self.cpu = [user + system for user, system in zip(self.cpu_user, self.cpu_system)]
        self.loop_cpu = [end - start for start, end in zip(self.loop_start, self._loop_cpu())]
        self.fake_llm_cpu = self._fake_llm_cpu() - self.fake_llm_start
        self.services = dict.fromkeys(self.SERVICES, 0.0)
        for pid, (name, first) in self.services_first.items():
            self.services[name] += self.services_last[pid] - first
        machine, start = self.psutil.cpu_times(), self.machine_start
        total = sum(machine) - sum(start)  # CPU seconds of all cores
        self.machine_busy = total - ((machine.idle + machine.iowait) - (start.idle + start.iowait))
        self.machine_share = self.machine_busy / total


def py_spy_path() -> str | None:
    return os.environ.get("PY_SPY") or shutil.which("py-spy") or shutil.which("py-spy", path=str(REPO / ".venv/bin"))


# --- Reading what happened -----------------------------------------------------------------------------
def series(label: str, seconds: list[float]) -> str:
    if not seconds:
        return f"  {label:<36} none"
    return (f"  {label:<36} p50 {ms(percentile(seconds, .5)):>9}  p95 {ms(percentile(seconds, .95)):>9}  "
            f"p99 {ms(percentile(seconds, .99)):>9}  max {ms(max(seconds)):>9}  ({len(seconds)})")


def finished_turns(results: list[dict]) -> list[dict]:
    return [turn for result in results for turn in result["turns"] if turn["done"]]


def latency_lines(results: list[dict], ramped_at: float) -> list[str]:
    """`ramped_at`: when the last artist started; the turns after it, while no page loads or
    handshakes of newcomers compete with them (every artist in), are shown apart too."""
    turns = finished_turns(results)
    lines = [series("page load (GET /)", [r["page"] for r in results if r["page"] is not None]),
             series("handshake (to the state frame)", [r["handshake"] for r in results if r["handshake"] is not None]),
             series("answer → answer shown back", [t["echo"] - t["sent"] for t in turns if t["echo"]]),
             series("answer → first reply word", [t["first"] - t["sent"] for t in turns if t["first"]]),
             series("  the same, every artist in", [t["first"] - t["sent"] for t in turns
                                                    if t["first"] and t["sent"] > ramped_at]),
             series("answer → finished reply", [t["reply"] - t["sent"] for t in turns])]
    if any(t["reply"] != t["done"] for t in turns):
        lines.append(series("answer 7 → turn done (with the bio)",
                            [t["done"] - t["sent"] for t in turns if t["step"] == len(ANSWERS)]))
    return lines


def error_lines(results: list[dict]) -> list[str]:
    failures = Counter(r["failure"] for r in results if r["failure"])
    closes = Counter(r["closed"] for r in results if r["closed"])
    turn_errors = Counter(t["error"] for r in results for t in r["turns"] if t["error"])
    connected = sum(1 for r in results if r["handshake"] is not None)
    discarded = sum(t["discards"] for r in results for t in r["turns"])
    lines = [f"  connected {connected}/{len(results)}; page loads failed "
             f"{sum(n for f, n in failures.items() if f.startswith('page'))}, handshakes failed "
             f"{sum(n for f, n in failures.items() if f.startswith('handshake'))}, unexpected closes "
             f"{sum(closes.values())}, turns refused or timed out {sum(turn_errors.values())}, replies "
             f"discarded mid-way {discarded}"]
    for what, count in [*failures.most_common(), *closes.most_common(), *turn_errors.most_common()]:
        lines.append(f"    {count} × {what}")
    shed = sum((r["shed"] for r in results), Counter())
    if shed:
        lines.append(f"  turned away by a busy server (load shedding), then back as a browser comes back: "
                     f"{shed['page']} page loads (503), {shed['socket']} sockets (4013), "
                     f"{sum(1 for r in results if r['shed'])} artists")
    return lines


def troubles(results: list[dict]) -> list[str]:
    """What went wrong, a line each: an artist's page load or handshake failed, its socket closed
    unexpectedly, a turn refused or timed out, a reply discarded mid-way."""
    lines = []
    for result in results:
        artist = f"artist {result['number']}"
        lines += [f"{artist}: {what}" for what in (result["failure"], result["closed"] and f"closed {result['closed']}")
                  if what]
        for turn in result["turns"]:
            lines += [f"{artist}, answer {turn['step']}: {turn['error']}"] if turn["error"] else []
            lines += [f"{artist}, answer {turn['step']}: reply discarded mid-way"] * turn["discards"]
    return lines


def token_trips(emitted: list[tuple[float, str]], frames: list[tuple[float, str]]) -> tuple[list[float], int]:
    """Each token's trip, from the fake writing it to the browser receiving the frame that carries
    it (a frame carries the tokens that came since the last one: CHAT_STREAM_FRAME_SECONDS), and
    how many tokens were not shown where they belong (from the first one that was not, all)."""
    shown = "".join(text for _, text in frames)
    frame_ends, end = [], 0
    for received, text in frames:
        end += len(text)
        frame_ends.append((end, received))
    trips, offset, frame = [], 0, 0
    for index, (written, token) in enumerate(emitted):
        if shown[offset:offset + len(token)] != token:
            return trips, len(emitted) - index
        offset += len(token)
        while frame_ends[frame][0] < offset:
            frame += 1
        trips.append(frame_ends[frame][1] - written)
    return trips, 0


def ai_lines(results: list[dict], timings: list[dict]) -> list[str]:
    """Our overhead before the provider's request, and each token's trip from the provider to the
    browser, by matching the fake's requests to the artists' answers (one clock)."""
    requests = defaultdict(list)
    for request in timings:
        if request["kind"] == "turn" and request["artist"] is not None:
            requests[request["artist"]].append(request)
    overheads, after_save, forwarding, unmatched, retried, differing = [], [], [], 0, 0, 0
    for result in results:
        mine = sorted(requests[result["number"]], key=lambda request: request["arrived"])
        turns = [turn for turn in result["turns"] if turn["sent"]]
        for index, turn in enumerate(turns):
            until = turns[index + 1]["sent"] if index + 1 < len(turns) else float("inf")
            asked = [request for request in mine if turn["sent"] <= request["arrived"] < until]
            if not asked:
                unmatched += 1
                continue
            retried += len(asked) - 1
            overheads.append(asked[0]["arrived"] - turn["sent"])
            if turn["echo"]:
                after_save.append(asked[0]["arrived"] - turn["echo"])
            trips, different = token_trips(asked[-1]["tokens"], turn["tokens"])
            forwarding += trips
            differing += different
    bios = sum(1 for request in timings if request["kind"] == "bio")
    return [series("answer frame → provider request", overheads),
            series("  shown back (saved) → provider", after_save),
            series("per token: provider → browser", forwarding),
            f"  provider requests: {len(timings)} ({bios} bios); answers with no request {unmatched}, "
            f"retried {retried}; tokens shown differently {differing}"]


@dataclass
class Rows:
    """What the database holds of the artists' chats, against what they sent and were shown."""

    sent: int = 0  # answers that must be stored: every one sent but those refused for their pace
    stored: int = 0  # of those, stored in order, with the text sent
    extra: int = 0  # answers stored that should not be
    refused: int = 0  # answers refused for their pace, which must not be stored
    finished: int = 0  # turns finished, their answer stored
    replied: int = 0  # of those, with their reply (the product's message, the floor's 20 frames)
    differ: int = 0  # the product's replies stored otherwise than the browser was shown them
    complete: int = 0  # chats complete in the database
    seven: int = 0  # artists who finished all seven turns
    providers: Counter[str] = field(default_factory=Counter)  # the product's replies, by provider


def database_check(results: list[dict], target: str) -> Rows:
    """Row by row: every answer sent is stored, in order (but one refused for its pace, which must
    not be); every turn has its reply (the product's: the assistant's message, the same text the
    browser was shown; the floor's: its 20 frames)."""
    from chat.models import COMPLETE_STEP, ChatMessage, ChatSession
    from chat.texts import catalogue_for

    too_fast = catalogue_for("es").errors["too_fast"]
    chats = {result["chat_id"]: result for result in results if result["turns"]}
    rows = defaultdict(list)
    for session_id, role, text, provider in (ChatMessage.objects.filter(session_id__in=list(chats)).order_by("id")
                                             .values_list("session_id", "role", "text", "provider")):
        rows[str(session_id)].append((role, text, provider))
    check = Rows(complete=ChatSession.objects.filter(pk__in=list(chats), current_step=COMPLETE_STEP).count(),
                 seven=sum(1 for result in chats.values()
                           if sum(1 for t in result["turns"] if t["done"]) == len(ANSWERS)))
    for chat_id, result in chats.items():
        # Each stored answer, with the assistant's messages after it (the greeting comes before any).
        answers: list[tuple[str, list[tuple[str, str]]]] = []
        for role, text, provider in rows[chat_id]:
            if role == ChatMessage.Role.USER:
                answers.append((text, []))
            elif answers:
                answers[-1][1].append((text, provider))
        expected = [turn for turn in result["turns"] if turn["error"] != too_fast]
        check.refused += len(result["turns"]) - len(expected)
        check.extra += max(0, len(answers) - len(expected))
        check.sent += len(expected)
        for turn, (text, replies) in zip(expected, answers):
            if text != turn["text"]:
                continue
            check.stored += 1
            if not turn["done"]:
                continue
            check.finished += 1
            if target == "floor":
                check.replied += len(turn["tokens"]) == FLOOR_WORDS
            elif replies:
                check.replied += 1
                check.providers[replies[0][1]] += 1
                check.differ += replies[0][0] != "".join(token for _, token in turn["tokens"]).strip()
    return check


def database_lines(results: list[dict], target: str) -> list[str]:
    check = database_check(results, target)
    lines = [f"  database: {check.stored}/{check.sent} answers stored in order, {check.extra} stored that should "
             f"not be ({check.refused} refused for their pace); {check.replied}/{check.finished} finished turns "
             f"with their reply"]
    if target == "product":
        lines.append(f"    {check.differ} replies differ from what the browser was shown; chats complete in the "
                     f"database {check.complete} ({check.seven} finished all seven turns); replies by provider "
                     + ", ".join(f"{name} {count}" for name, count in check.providers.most_common()))
    return lines


PROBLEM = re.compile(r" (WARNING|ERROR|CRITICAL) |^\w+(\.\w+)*(Error|Exception): |took too long")


def log_problems(text: str) -> Counter[str]:
    """A server's warnings, errors and exceptions in its output, counted by message (timestamps
    left out)."""
    return Counter(re.sub(r"^[\d-]+ [\d:,]+ ", "", line.strip())[:150] for line in text.splitlines()
                   if PROBLEM.search(line))


def daphne_log_lines(logs: list[Path]) -> list[str]:
    """Each Daphne's warnings and errors, counted by message."""
    lines = []
    for log in logs:
        problems = log_problems(log.read_text(errors="replace"))
        lines.append(f"  {log.name}: {sum(problems.values())} warnings, errors and exceptions"
                     + "".join(f"\n    {count} × {line}" for line, count in problems.most_common(5)))
    return lines


def profile_lines(raw: Path, seconds: int, rate: int) -> list[str]:
    """py-spy's raw output (`thread (id): name;function (path:line);… count`), summed up."""
    own, libraries, threads, ours = Counter(), Counter(), Counter(), Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        thread, *frames = stack.split(";")
        total += int(count)
        threads[re.sub(r"_\d+$", "", thread.split(": ", 1)[-1])] += int(count)  # one line per executor
        if frames:
            own[_function(frames[-1])] += int(count)
            libraries[_library(frames[-1])] += int(count)
        for function in {_function(frame) for frame in frames if _library(frame).startswith("ours:")}:
            ours[function] += int(count)
    if not total:
        return ["  profile: no samples"]

    def share(counter: Counter, top: int) -> list[str]:
        return [f"    {100 * n / total:5.1f} %  {name}" for name, n in counter.most_common(top)]

    return [f"  profile (py-spy --gil --nonblocking, {seconds} s at {rate} Hz): {total} samples held the GIL, "
            f"{100 * total / (seconds * rate):.0f} % of those taken",
            "   threads:", *share(threads, 5),
            "   libraries (own time):", *share(libraries, 14),
            "   functions (own time):", *share(own, 18),
            "   the product's functions (inclusive):", *share(ours, 14)]


_FRAME = re.compile(r"^(.*) \((.*?)(?::\d+)?\)$")  # "function (path/relative/to/sys.path.py:line)"
OURS = frozenset({"chat", "presskit", "resilience", "bench"})


def _function(frame: str) -> str:
    match = _FRAME.match(frame)
    return f"{match.group(1)} ({match.group(2)})" if match else frame


def _library(frame: str) -> str:
    match = _FRAME.match(frame)
    parts = (match.group(2) if match else frame).split("/")
    top = parts[0].removesuffix(".py")
    if top in OURS:
        return f"ours: {top}"
    return f"django.{parts[1].removesuffix('.py')}" if top == "django" and len(parts) > 2 else top


def think_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artists", type=int, default=150)
    parser.add_argument("--daphnes", type=int, choices=(1, 2), default=1)
    parser.add_argument("--path", choices=("template", "ai"), default="template")
    parser.add_argument("--target", choices=tuple(APPLICATIONS), default="product")
    parser.add_argument("--think", type=think_range, default=(2.0, 4.0), help="seconds, e.g. 2-4")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the artists start")
    parser.add_argument("--workers", type=int, default=1, help="load generator processes")
    parser.add_argument("--profile", action="store_true", help="py-spy the first Daphne (PY_SPY or on PATH)")
    parser.add_argument("--profile-seconds", type=int, default=20)
    args = parser.parse_args()
    if args.target == "floor" and args.path == "ai":
        parser.error("--path ai is the product's: the floor has no provider")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    with bench_project("chat-load") as where:
        data_dir = Path(os.environ["PRESSKIT_DATA_DIR"])
        env = {**os.environ, **SERVER_ENVIRONMENT}
        servers: list[Server] = []
        daphnes: list[Server] = []
        fake_llm = None
        try:
            if args.path == "ai":
                fake_llm = fake_llm_start(env, data_dir / "fake_llm.log")
                servers.append(fake_llm[0])
                env.update(ai_environment(fake_llm[1]))
            base_urls = []
            for index in range(args.daphnes):
                daphne, base_url = daphne_start(APPLICATIONS[args.target], env, data_dir / f"daphne-{index + 1}.log")
                daphnes.append(daphne)
                servers.append(daphne)
                base_urls.append(base_url)
            run(args, where, base_urls, daphnes, fake_llm)
        finally:
            for server in servers:
                server.stop()
        for line in daphne_log_lines([daphne.log for daphne in daphnes]):
            print(line)


def run(args: argparse.Namespace, where: str, base_urls: list[str], daphnes: list[Server],
        fake_llm: tuple[Server, str] | None) -> None:
    path = "the bare Channels floor" if args.target == "floor" else f"product, {args.path} path"
    print(f"chat load: {where}; {path}; {args.artists} artists on {len(daphnes)} Daphne; think "
          f"{args.think[0]:g}–{args.think[1]:g} s, ramp {args.ramp:g} s, {args.workers} generator process(es); "
          f"load average before {os.getloadavg()[0]:.2f}")
    for base_url in base_urls:  # warm: the first page loads the templates and opens connections
        httpx.get(f"{base_url}/", timeout=30, trust_env=False, headers={"X-Real-IP": "198.19.255.254"})
    sampler = Sampler([daphne.process.pid for daphne in daphnes], fake_llm[0].process.pid if fake_llm else None)
    load = Load(base_urls, args.artists, args.think, args.ramp, args.workers)
    sampler.start()
    load.start()
    raw = Path(os.environ["PRESSKIT_DATA_DIR"]) / "profile.txt"
    profiler = None
    if args.profile and (py_spy := py_spy_path()):
        time.sleep(max(0.0, load.ramped_at - time.time()))
        profiler = subprocess.Popen(
            [py_spy, "record", "--pid", str(daphnes[0].process.pid), "--gil", "--nonblocking", "--threads", "--rate",
             str(PROFILE_RATE), "--duration", str(args.profile_seconds), "--format", "raw", "--output", str(raw)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    load.through()
    sampler.stop()
    results = load.finish()

    turns = finished_turns(results)
    span = max(t["done"] for t in turns) - min(t["sent"] for t in turns) if turns else float("nan")
    print(f"  answers: {sum(len(r['turns']) for r in results)} sent, {len(turns)} finished, in {span:.1f} s: "
          f"{len(turns) / span:.1f} answers/s ({sum(len(t['tokens']) for t in turns) / span:.0f} reply-word frames/s)")
    lines = [*error_lines(results), *latency_lines(results, load.ramped_at)]
    if fake_llm:
        timings = httpx.get(f"{fake_llm[1]}/_bench/timings", timeout=30, trust_env=False).json()["requests"]
        lines += ai_lines(results, timings)
    lines += cpu_lines(sampler, results, base_urls, load.generator_cpu, bool(fake_llm))
    time.sleep(1.0)  # anything still being written when the generator gave up on a turn
    lines += database_lines(results, args.target)
    if args.profile and profiler is None:
        lines.append("  profile: py-spy not found (set PY_SPY)")
    elif profiler is not None:
        output = profiler.communicate()[0]
        lines += profile_lines(raw, args.profile_seconds, PROFILE_RATE) if raw.exists() else [f"  py-spy: {output}"]
    for line in lines:
        print(line)


def cpu_lines(sampler: Sampler, results: list[dict], base_urls: list[str], generator: float,
              fake_llm: bool) -> list[str]:
    lines = []
    for index, base_url in enumerate(base_urls):
        answered = sum(1 for r in results for t in r["turns"] if t["done"] and r["base_url"] == base_url)
        cpu = sampler.cpu[index]
        lines.append(f"  Daphne {index + 1}: CPU {cpu:.1f} s (user {sampler.cpu_user[index]:.1f}, system "
                     f"{sampler.cpu_system[index]:.1f}) over {sampler.wall:.1f} s ({100 * cpu / sampler.wall:.0f} % of "
                     f"a core), {1000 * cpu / max(answered, 1):.1f} ms per answer ({answered}): event loop "
                     f"{1000 * sampler.loop_cpu[index] / max(answered, 1):.1f} ms, other threads "
                     f"{1000 * (cpu - sampler.loop_cpu[index]) / max(answered, 1):.1f} ms; peak RSS "
                     f"{sampler.peak_rss[index] / 2**20:.0f} MiB")
    known = sum(sampler.cpu) + generator + sampler.fake_llm_cpu + sum(sampler.services.values()) + sampler.own_cpu
    lines.append(f"  CPU elsewhere: generator {generator:.1f} s"
                 + (f", fake LLM {sampler.fake_llm_cpu:.1f} s" if fake_llm else "")
                 + f", postgres {sampler.services['postgres']:.1f} s, redis-server "
                 f"{sampler.services['redis-server']:.1f} s (with their other clients); the machine "
                 f"{100 * sampler.machine_share:.0f} % busy, {max(0.0, sampler.machine_busy - known):.1f} s of it by "
                 f"other processes")
    return lines


if __name__ == "__main__":
    main()
