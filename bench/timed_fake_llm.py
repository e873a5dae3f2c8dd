"""The project's fake LLM server (chat.fake_llm) with a stopwatch, for bench/chat_load.py --path ai.

    .venv/bin/python bench/timed_fake_llm.py --port 8090 [--tokens 30] [--token-delay 0.02]

The fake as it is (its routes, dialects and faults), with a `token_delay` fault armed for every
request and two of its module attributes wrapped, in this process only:

- the OpenAI dialect: when each request has been read (its JSON body parsed) and when each of its
  tokens is written, on this machine's clock (time.time(), comparable with the load generator's),
  and whose chat it is (the number in the artist's name, `--artist` names the pattern);
- the reply text: a chat turn's reply is padded to `--tokens` tokens, the next question kept at
  its end (so the product adds none); the bios stay as the fake writes them.

GET /_bench/timings lists every OpenAI request timed so far. Used by bench/chat_load.py; prints
nothing, asserts nothing.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.fake_llm import server  # noqa: E402
from chat.fake_llm.faults import FaultRegistry, Injection  # noqa: E402

# Words a turn's reply is padded with, between the acknowledgement and the next question.
FILLER = ("Suena muy bien y lo apunto tal cual para tu presskit, con tus palabras, sin cambiar nada de lo que "
          "cuentas, para que quien lo lea te conozca mejor desde el primer momento").split()


class TimedDialect:
    """A dialect that notes the arrival of each request it reads and the time of each token."""

    def __init__(self, dialect: Any, artist: re.Pattern[str], timings: dict[str, dict]) -> None:
        self.dialect = dialect
        self.artist = artist
        self.timings = timings

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dialect, name)

    def read(self, target: str, body: Any) -> server.Exchange:
        arrived = time.time()
        exchange = self.dialect.read(target, body)
        found = self.artist.search(exchange.last_user_text)
        self.timings[exchange.response_id] = {
            "artist": int(found.group(1)) if found else None,
            "kind": "bio" if is_bio_prompt(exchange.last_user_text) else "turn",
            "arrived": arrived,
            "tokens": [],
        }
        return exchange

    def token(self, exchange: server.Exchange, index: int, token: str) -> bytes:
        self.timings[exchange.response_id]["tokens"].append((time.time(), token))
        return self.dialect.token(exchange, index, token)


def is_bio_prompt(text: str) -> bool:
    return any(short in text and long in text for short, long in server.BIO_REPLIES)


def padded(reply_text: Callable[[str], str], tokens: int) -> Callable[[str], str]:
    """`reply_text`, with a turn's reply padded to `tokens` tokens (a longer one is left as is)."""

    def reply(last_user_text: str) -> str:
        text = reply_text(last_user_text)
        if is_bio_prompt(last_user_text):
            return text
        question = text.removeprefix(server.REPLY).strip()
        missing = max(0, tokens - len(server.reply_tokens(text)))
        filler = [FILLER[index % len(FILLER)] for index in range(missing)]
        return " ".join([server.REPLY, *filler, *([question] if question else [])])

    return reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens", type=int, default=30)
    parser.add_argument("--token-delay", type=float, default=0.02)
    parser.add_argument("--artist", default=r"Artista B(\d+)", help="regex; group 1: the artist's number")
    args = parser.parse_args()

    timings: dict[str, dict] = {}
    server.OPENAI = TimedDialect(server.OPENAI, re.compile(args.artist), timings)
    server.reply_text = padded(server.reply_text, args.tokens)
    registry = FaultRegistry()
    registry.arm(Injection.from_dict({"target": "*", "kind": "token_delay", "seconds": args.token_delay}))
    app = server.create_app(registry)

    async def timings_list(request: web.Request) -> web.Response:
        return web.json_response({"requests": list(timings.values())})

    app.router.add_get("/_bench/timings", timings_list)
    web.run_app(app, host=args.host, port=args.port, print=None, shutdown_timeout=1.0)


if __name__ == "__main__":
    main()
