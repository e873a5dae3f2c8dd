"""Thousands of idle chat sockets on one Daphne, and a service-level broadcast to all of them (issue 19).

    .venv/bin/python bench/idle_sockets.py [--sockets 5000] [--idle 60] [--ramp 300] [--workers 4]
        [--broadcast-timeout 60]

Each socket is a browser, as in bench/chat_load.py: GET / (its cookies kept), then the WebSocket of
the chat the page names, with the page's cookies and Origin, until the state frame (#progress);
each its own client behind the proxy (X-Real-IP), so the per-client limits apply as in production.
Turned away by a busy server (the 503 page, a refused or failed handshake), it comes back as the
browser does (after Retry-After; static/js/chat.js's backoff). The sockets open over `--ramp`
seconds from `--workers` generator processes (spawned, an asyncio loop each) against ONE Daphne
serving presskit.asgi:application, then stay idle for `--idle` seconds, reading all that comes.

Measured: sockets opened, failed and turned away (by reason); page load and handshake times;
Daphne's RSS before the sockets, with them (→ KB per socket) and after they close (at once, 10 s
later); its CPU while they open and while they are idle; sockets the server closed (there must be
none) and frames sent to idle sockets. Then two broadcasts as staff make them, the level forced to
DEGRADED, then released: made in this process, Django set up on Daphne's database and Redis, by
resilience.degradation.degradation_force / _release (what `manage.py degradation force|release`
calls, without its interpreter start-up), the clock started right before the call. Per socket,
change → its banner fragment (ChatConsumer.degradation_changed, `class="banner banner--<level>"`):
p50, p95, p99, max, and how many never got it within `--broadcast-timeout`.

Uses DATABASE_URL when set (e.g. PostgreSQL), else a throw-away SQLite file; REDIS_URL when set,
else an embedded Redis. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import html
import logging
import multiprocessing
import os
import random
import re
import ssl
import time
from collections import Counter
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from chat_load import (  # chat_load puts the repository on sys.path
    APPLICATIONS, CHAT_ID, CONNECT_TIMEOUT, ERROR_SHOWN, SERVER_ENVIRONMENT, SHED_RETRIES, Sampler, Server,
    client_address, daphne_log_lines, daphne_start, page_load, series,
)
from bench_redis import bench_project

BANNER = re.compile(r'id="degraded-banner" class="banner banner--(\w+)"')  # templates/chat/_service.html
# What Daphne's own level did meanwhile (a `redis` breaker opened by a swamped loop changes it).
LEVEL_LOG = re.compile(r" resilience\.(breakers|degradation) ")
CHAT_REFUSED = (4403, 4404)  # static/js/chat.js comes back after any other close code
SETTLE_AFTER_CLOSE = 10.0  # seconds for the closed sockets' cleanup (DISCONNECT_CLEANUP_SECONDS is 3)
WARM_CLIENT = 65000  # the warm-up socket's client, apart from the benchmark's (198.18.253.233)


# --- One idle browser ----------------------------------------------------------------------------------
async def socket_open(number: int, base_url: str, tls: ssl.SSLContext) -> tuple[dict, ClientConnection | None]:
    """The page, then its chat's socket up to the state frame: the socket, open, or None and why.
    Each time the socket is turned away (refused, or its handshake failed) is counted by why."""
    result = {"number": number, "failure": None, "page": None, "handshake": None, "frames": [], "closed_at": None,
              "close_code": None, "by_server": False, "shed": Counter(), "refusals": Counter()}
    headers = {"X-Real-IP": client_address(number), "Accept-Language": "es-ES,es;q=0.9"}
    started = time.time()
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=CONNECT_TIMEOUT, headers=headers, verify=tls,
                                     trust_env=False) as http:
            page = await page_load(http, result)  # back after a busy page's Retry-After
            cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    except httpx.HTTPError as error:
        result["failure"] = f"page: {type(error).__name__}"
        return result, None
    chat_id = CHAT_ID.search(page.text)
    if page.status_code != 200 or chat_id is None:
        result["failure"] = f"page: HTTP {page.status_code}"
        return result, None
    result["page"], started = time.time() - started, time.time()
    jitter = random.Random(number)
    for attempt in range(SHED_RETRIES):
        socket = None
        try:
            socket = await connect(f"{base_url.replace('http://', 'ws://')}/ws/chat/{chat_id.group(1)}/",
                                   origin=base_url, additional_headers={"Cookie": cookie, **headers},
                                   open_timeout=CONNECT_TIMEOUT, ping_interval=None, max_size=None, proxy=None)
            state = await asyncio.wait_for(socket.recv(), CONNECT_TIMEOUT)
        except (OSError, TimeoutError, WebSocketException) as error:  # the extension reconnects after these too
            refusal = f"{type(error).__name__} {socket and socket.close_code or ''}".strip()
            if socket is not None:
                await socket.close()
        else:
            if 'id="progress"' in state:
                result["handshake"] = time.time() - started
                return result, socket
            try:  # refused with a reason, then closed: its close code says whether to come back
                await asyncio.wait_for(socket.wait_closed(), CONNECT_TIMEOUT)
            except TimeoutError:
                await socket.close()
            reason = ERROR_SHOWN.search(state)
            refusal = (f"closed {socket.close_code} {socket.close_reason or '(no reason)'}: "
                       + (html.unescape(reason.group(1)).strip() if reason else state[:80]))
            if socket.close_code in CHAT_REFUSED:
                result["failure"] = f"handshake: refused ({refusal})"
                return result, None
        result["refusals"][refusal] += 1
        await asyncio.sleep(jitter.uniform(0, min(30.0, 2.0 ** attempt)))  # chat.js: full jitter, capped
    result["failure"] = f"handshake: still turned away ({refusal})"
    return result, None


async def socket_read(result: dict, socket: ClientConnection, closing: asyncio.Event) -> None:
    """Every frame the idle socket gets, by arrival (`banner--<level>`, or any other frame's start),
    until it closes; a close before `closing` is set is the server's."""
    try:
        async for frame in socket:
            banner = BANNER.search(frame)
            result["frames"].append((time.time(), f"banner--{banner.group(1)}" if banner else frame[:40]))
    except ConnectionClosed:
        pass
    result["closed_at"], result["close_code"], result["by_server"] = time.time(), socket.close_code, not closing.is_set()


async def sockets_hold(config: dict, numbers: list[int], index: int, commands, events) -> list[dict]:
    """This worker's sockets: opened over the ramp, then held until told to close; told to expect
    a banner meanwhile, it says how many of its sockets got it (once all have, or at the deadline)."""
    tls = ssl.create_default_context()  # one for all clients: httpx would load the CA file per client

    async def opened(number: int) -> tuple[dict, ClientConnection | None]:
        await asyncio.sleep(max(0.0, config["start_at"] + number * config["ramp"] / config["sockets"] - time.time()))
        return await socket_open(number, config["base_url"], tls)

    held = await asyncio.gather(*(opened(number) for number in numbers))
    closing = asyncio.Event()
    readers = [asyncio.create_task(socket_read(result, socket, closing)) for result, socket in held if socket]
    events.put(("opened", index))
    while (command := await asyncio.to_thread(commands.get))[0] == "expect":
        _, level, since, deadline = command

        def got(result: dict) -> bool:
            return any(at >= since and shown == level for at, shown in result["frames"])

        # A socket the server closed will not get it: no waiting for it.
        while any(not got(r) and r["closed_at"] is None for r, s in held if s) and time.time() < deadline:
            await asyncio.sleep(0.05)
        events.put(("reached", index, sum(1 for r, s in held if s and got(r))))
    closing.set()
    await asyncio.gather(*(socket.close() for _, socket in held if socket))
    await asyncio.gather(*readers)
    return [result for result, _ in held]


def worker_main(config: dict, numbers: list[int], index: int, commands, events) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results = asyncio.run(sockets_hold(config, numbers, index, commands, events))
    events.put(("results", results, time.process_time()))


class Sockets:
    """`count` idle browsers in `workers` spawned generator processes (daemonic: they go with this
    process), driven by messages: open(), expect(level, since, timeout) then reached(), close()
    (which returns what each browser went through, by number)."""

    def __init__(self, base_url: str, count: int, ramp: float, workers: int) -> None:
        self.config = {"base_url": base_url, "sockets": count, "ramp": ramp}
        context = multiprocessing.get_context("spawn")
        self.events, self.commands = context.Queue(), [context.Queue() for _ in range(workers)]
        self.workers = [context.Process(target=worker_main, daemon=True, args=(
            self.config, list(range(index, count, workers)), index, self.commands[index], self.events))
            for index in range(workers)]

    def open(self) -> None:
        self.config["start_at"] = time.time() + 2.0  # the workers' imports first
        for worker in self.workers:
            worker.start()
        for _ in self.workers:  # ("opened", index); the turned away come back for minutes
            self.events.get(timeout=self.config["ramp"] + 900)

    def expect(self, level: str, since: float, timeout: float) -> None:
        for commands in self.commands:
            commands.put(("expect", level, since, since + timeout))

    def reached(self) -> int:
        return sum(self.events.get(timeout=900)[2] for _ in self.workers)  # ("reached", index, count)

    def close(self) -> list[dict]:
        for commands in self.commands:
            commands.put(("close",))
        outcomes = [self.events.get(timeout=300) for _ in self.workers]  # ("results", results, cpu)
        for worker in self.workers:
            worker.join()
        self.generator_cpu = sum(outcome[2] for outcome in outcomes)
        return sorted((result for outcome in outcomes for result in outcome[1]), key=lambda r: r["number"])


# --- The run -------------------------------------------------------------------------------------------
def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def broadcast(sockets: Sockets, level: str, change, timeout: float) -> dict:
    """One level change, timed from right before the call, once every socket got its banner (or
    the timeout passed)."""
    sockets.expect(f"banner--{level}", time.time(), timeout)
    before = time.time()
    made = change()
    after = time.time()
    sockets.reached()
    return {"level": level, "before": before, "after": after, "change": made}


def broadcast_lines(done: dict, results: list[dict], opened: int, timeout: float) -> list[str]:
    banner = f"banner--{done['level']}"
    times = [min(at for at, shown in r["frames"] if shown == banner and at >= done["before"]) - done["before"]
             for r in results if any(shown == banner and at >= done["before"] for at, shown in r["frames"])]
    made = done["change"]
    what = f"{made.from_level.label} -> {made.to_level.label}" if made else "level unchanged: no broadcast"
    return [f"  broadcast ({what}): the call took {1000 * (done['after'] - done['before']):.1f} ms"
            + (f", the change stamped {made.at_ms / 1000 - done['before']:+.3f} s after the clock started" if made else ""),
            series(f"change → {banner}", times),
            f"    {len(times)}/{opened} reached" + (f", the first after {min(times):.2f} s, all of them within "
                                               f"{max(times):.2f} s" if times else "")
            + f"; {opened - len(times)} never got it within {timeout:g} s"]


def sampler_line(label: str, sampler: Sampler, opened: int) -> str:
    cpu = sampler.cpu[0]
    return (f"  Daphne CPU while {label}: {cpu:.1f} s (user {sampler.cpu_user[0]:.1f}, system "
            f"{sampler.cpu_system[0]:.1f}) over {sampler.wall:.1f} s: {100 * cpu / sampler.wall:.1f} % of a core, "
            f"{1000 * cpu / max(opened, 1):.2f} ms per socket; postgres {sampler.services['postgres']:.1f} s, "
            f"redis-server {sampler.services['redis-server']:.1f} s; the machine {100 * sampler.machine_share:.0f} % busy")


def run(args: argparse.Namespace, where: str, daphne: Server, base_url: str) -> None:
    import psutil

    from resilience.degradation import Level, degradation_current, degradation_force, degradation_release

    print(f"idle sockets: {where}; {args.sockets} sockets on 1 Daphne, ramp {args.ramp:g} s, idle {args.idle:g} s, "
          f"{args.workers} generator process(es); level {degradation_current().level.label}; load average before "
          f"{os.getloadavg()[0]:.2f}")
    server = psutil.Process(daphne.process.pid)

    async def warm() -> None:  # the page's and the socket's templates, imports and pools, before measuring
        result, socket = await socket_open(WARM_CLIENT, base_url, ssl.create_default_context())
        if socket is None:
            raise SystemExit(f"warm-up socket failed: {result['failure']}")
        await socket.close()

    asyncio.run(warm())
    time.sleep(1.0)
    rss_before = server.memory_info().rss
    sockets = Sockets(base_url, args.sockets, args.ramp, args.workers)
    opening, idle = Sampler([server.pid], None), Sampler([server.pid], None)
    opening.start()
    sockets.open()
    opening.stop()
    idle.start()
    idle_from = time.time()
    time.sleep(args.idle)
    idle_until = time.time()
    idle.stop()
    rss_with = server.memory_info().rss
    changes = [broadcast(sockets, "degraded", lambda: degradation_force(
                   level=Level.DEGRADED, reason="bench/idle_sockets.py broadcast"), args.broadcast_timeout),
               broadcast(sockets, "optimal", lambda: degradation_release(reason="bench/idle_sockets.py over"),
                         args.broadcast_timeout)]
    closing_at = time.time()
    results = sockets.close()
    rss_closed = server.memory_info().rss
    time.sleep(SETTLE_AFTER_CLOSE)
    rss_settled = server.memory_info().rss

    opened = sum(1 for r in results if r["handshake"] is not None)
    failures = Counter(r["failure"] for r in results if r["failure"])
    shed, refusals = sum((r["shed"] for r in results), Counter()), sum((r["refusals"] for r in results), Counter())
    server_closes = [r for r in results if r["by_server"]]
    in_idle = sum(1 for r in server_closes if r["closed_at"] <= idle_until)
    stray = Counter(shown for r in results for at, shown in r["frames"] if idle_from <= at <= idle_until)
    codes = Counter(f"{r['close_code']} at {r['closed_at'] - idle_from:+.0f} s of idle" for r in server_closes)
    lines = [f"  opened {opened}/{len(results)}; page loads failed "
             f"{sum(n for f, n in failures.items() if f.startswith('page'))}, handshakes failed "
             f"{sum(n for f, n in failures.items() if f.startswith('handshake'))}",
             *(f"    {count} × {failure}" for failure, count in failures.most_common()),
             f"  turned away, then back as a browser comes back: {shed['page']} page loads (503), "
             f"{sum(refusals.values())} sockets ({sum(1 for r in results if r['shed'] or r['refusals'])} browsers)",
             *(f"    {count} × {refusal[:150]}" for refusal, count in refusals.most_common(4)),
             series("page load (GET /)", [r["page"] for r in results if r["page"] is not None]),
             series("handshake (to the state frame)", [r["handshake"] for r in results if r["handshake"] is not None]),
             f"  closed by the server: {in_idle} during the {args.idle:g} s idle, {len(server_closes) - in_idle} later "
             f"(the client closed at {closing_at - idle_from:+.0f} s)",
             *(f"    {count} × {what}" for what, count in codes.most_common(5)),
             f"  frames sent to the idle sockets while idle: {sum(stray.values())}",
             *(f"    {count} × {what}" for what, count in stray.most_common(3)),
             f"  Daphne RSS: before {mib(rss_before)} (peak while opening {mib(opening.peak_rss[0])}), with {opened} "
             f"sockets {mib(rss_with)} (→ {(rss_with - rss_before) / max(opened, 1) / 1024:.1f} KB per socket), "
             f"after closing {mib(rss_closed)}, {SETTLE_AFTER_CLOSE:g} s later {mib(rss_settled)}",
             sampler_line("opening", opening, opened), sampler_line("idle", idle, opened)]
    for done in changes:
        lines += broadcast_lines(done, results, opened, args.broadcast_timeout)
    lines.append(f"  generator CPU: {sockets.generator_cpu:.1f} s in {args.workers} process(es)")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds the sockets stay idle")
    # A page and its socket cost Daphne ~50 ms of CPU here: 5,000 in 60 s would swamp its one core.
    parser.add_argument("--ramp", type=float, default=300.0, help="seconds over which the sockets open")
    parser.add_argument("--workers", type=int, default=4, help="load generator processes")
    parser.add_argument("--broadcast-timeout", type=float, default=60.0, help="seconds a banner may take")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    with bench_project("idle-sockets") as where:
        env = {**os.environ, **SERVER_ENVIRONMENT}
        daphne, base_url = daphne_start(APPLICATIONS["product"], env,
                                        Path(os.environ["PRESSKIT_DATA_DIR"]) / "daphne-1.log")
        try:
            run(args, where, daphne, base_url)
        finally:
            daphne.stop()
        changes = [line[:160] for line in daphne.log.read_text(errors="replace").splitlines() if LEVEL_LOG.search(line)]
        print("\n".join([*daphne_log_lines([daphne.log]), f"  Daphne's breaker and level changes: {len(changes)}",
                         *(f"    {line}" for line in changes[:8]), f"  Daphne's log: {daphne.log}"]))


if __name__ == "__main__":
    main()
