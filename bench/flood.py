"""One artist's turn while other chats flood the server: with the chat limits off and on.

    .venv/bin/python bench/flood.py [--flooders 50] [--burst 40] [--turns 7]

A real Daphne (the template responder at its default word delay). One artist answers the seven
steps at a person's pace (one answer a second) and times each turn (answer sent → the turn's
last fragment); `/healthz` is sampled meanwhile. Alone first, then while `--flooders` chats each
send `--burst` answers at once, every 5 s. Run twice: with every limit off (as before
chat.throttle) and with the default limits. As behind deploy/nginx.conf, X-Real-IP names the
clients: the flood is one client, the artist another.

Uses DATABASE_URL when set (e.g. PostgreSQL), else a throw-away SQLite file; REDIS_URL when set,
else an embedded Redis. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_redis import bench_project  # noqa: E402
from public_page import daphne, ms, percentile  # noqa: E402

ANSWERS = ["Luna Roja", "techno, house", "desde 2015", "Madrid", "Empecé pinchando los vinilos de mi padre en casa.",
           "https://soundcloud.com/lunaroja", "booking@lunaroja.example"]
CHAT_ID = re.compile(r'ws-connect="/ws/chat/([0-9a-f-]+)/"')


ARTIST, FLOOD = "198.51.100.10", "203.0.113.66"  # the clients' addresses, as the proxy names them


async def open_chat(base_url: str, client: str):
    """A browser's chat: its page (and so its session cookie), then its socket; None when the
    server refused it (the flood's client is over its limits)."""
    import httpx
    from websockets.asyncio.client import connect

    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers={"X-Real-IP": client}) as http:
        page = await http.get("/")
        if page.status_code != 200:
            return None
        chat_id = CHAT_ID.search(page.text).group(1)
        cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    socket = await connect(base_url.replace("http://", "ws://") + f"/ws/chat/{chat_id}/",
                           additional_headers={"Cookie": cookie, "Origin": base_url, "X-Real-IP": client},
                           open_timeout=30, max_size=None)
    if 'id="progress"' not in await socket.recv():  # not the state: refused (too many sockets)
        await socket.close()
        return None
    return socket


def frame_of(text: str) -> str:
    return json.dumps({"message": text, "HEADERS": {"HX-Request": "true"}})


ERROR_SHOWN = re.compile(r'id="chat-error"[^>]*>[^<]+<')


def turn_ended(frame: str) -> bool:
    """The turn's last fragment carries the progress; a refused answer, only an error."""
    return 'id="progress"' in frame or bool(ERROR_SHOWN.search(frame))


async def artist_turns(base_url: str, turns: int) -> tuple[list[float], list[float]]:
    """Each turn's time to its first reply word, and to its end."""
    socket = await open_chat(base_url, ARTIST)
    first_words, ends = [], []
    try:
        for text in ANSWERS[:turns]:
            started = time.perf_counter()
            await socket.send(frame_of(text))
            first_word = None
            while not turn_ended(frame := await socket.recv()):
                if first_word is None and 'id="stream-text"' in frame:
                    first_word = time.perf_counter() - started
            ends.append(time.perf_counter() - started)
            first_words.append(first_word or ends[-1])
            await asyncio.sleep(1.0)  # a person's pace
    finally:
        await socket.close()
    return first_words, ends


async def flooder(base_url: str, burst: int, stop: asyncio.Event, counts: dict[str, int]) -> None:
    socket = await open_chat(base_url, FLOOD)
    if socket is None:
        counts["chats refused"] += 1
        return

    async def drain() -> None:
        async for frame in socket:
            counts["refused" if "Más despacio" in frame else "frames"] += 1

    reader = asyncio.create_task(drain())
    try:
        while not stop.is_set():
            for n in range(burst):
                await socket.send(frame_of(ANSWERS[n % len(ANSWERS)]))
            counts["sent"] += burst
            await asyncio.sleep(5.0)
    finally:
        reader.cancel()
        await socket.close()


async def healthz_samples(base_url: str, stop: asyncio.Event) -> list[float]:
    import httpx

    samples = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while not stop.is_set():
            started = time.perf_counter()
            await http.get("/healthz")
            samples.append(time.perf_counter() - started)
            await asyncio.sleep(0.2)
    return samples


async def measure(base_url: str, flooders: int, burst: int, turns: int) -> None:
    alone = await artist_turns(base_url, turns)
    stop = asyncio.Event()
    counts = {"sent": 0, "frames": 0, "refused": 0, "chats refused": 0}
    flood = [asyncio.create_task(flooder(base_url, burst, stop, counts)) for _ in range(flooders)]
    health = asyncio.create_task(healthz_samples(base_url, stop))
    await asyncio.sleep(2.0)  # the flood is on
    flooded = await artist_turns(base_url, turns)
    stop.set()
    samples = await health
    await asyncio.gather(*flood, return_exceptions=True)
    for label, (first_words, ends) in (("the artist alone", alone), ("during the flood", flooded)):
        print(f"    {label:<20} first word p50 {ms(percentile(first_words, .5))}, max {ms(max(first_words))}; "
              f"whole turn p50 {ms(percentile(ends, .5))}, max {ms(max(ends))}")
    print(f"    /healthz meanwhile   p50 {ms(percentile(samples, .5))}, max {ms(max(samples))}")
    print(f"    flood: {flooders - counts['chats refused']} chats let in, {counts['sent']} answers sent, "
          f"{counts['refused']} refused with \"más despacio\"")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flooders", type=int, default=50)
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--turns", type=int, default=7)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    with bench_project("flood") as where:
        from django.conf import settings

        print(f"flood: {where}; {args.flooders} chats × {args.burst} answers at once, from one client; 1 Daphne")
        runs = (("no limits", {"CHAT_TURN_LIMITS": "", "CLIENT_CHATS_LIMIT": "", "CLIENT_SOCKETS_MAX": "100000"}),
                ("default limits", {}))
        for label, limits in runs:
            print(f"  {label}: turns {limits.get('CHAT_TURN_LIMITS', settings.CHAT_TURN_LIMITS)!r}, chats per client "
                  f"{limits.get('CLIENT_CHATS_LIMIT', settings.CLIENT_CHATS_LIMIT)!r}, sockets per client "
                  f"{limits.get('CLIENT_SOCKETS_MAX', settings.CLIENT_SOCKETS_MAX)}")
            # As behind deploy/nginx.conf: the proxy names each client, so the flood is one client
            # and the artist another.
            env = {**os.environ, "LOG_LEVEL": "ERROR", "CLIENT_IP_HEADER": "X-Real-IP",
                   "CLIENT_IP_TRUSTED_PROXIES": "127.0.0.1/32", **limits,
                   "REDIS_KEY_PREFIX": f"bench-flood-{uuid.uuid4().hex[:8]}"}
            process, base_url = daphne(env)
            try:
                asyncio.run(measure(base_url, args.flooders, args.burst, args.turns))
            finally:
                process.terminate()
                process.wait()

if __name__ == "__main__":
    main()
