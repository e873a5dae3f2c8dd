"""Reply-start latency through the provider chain, with OpenAI healthy, down (connection
refused), hanging, and answering 500 — before and after its circuit breaker opens — and what
writing the AI request log costs a turn.

    make bench            # or: .venv/bin/python bench/failover.py [--turns 20]

Runs the real SDKs against the project's fake LLM server (Anthropic healthy behind OpenAI),
with the default deadlines (first token 2.5 s). Uses REDIS_URL / DATABASE_URL when set, else an
embedded Redis and a throw-away SQLite database. Prints p50 and p99 in milliseconds.
"""
from __future__ import annotations

import argparse
from contextlib import ExitStack
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_redis import bench_redis  # noqa: E402
from presskit.embedded_redis import free_local_port  # noqa: E402


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


class FirstToken:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.at: float | None = None

    async def token(self, text: str) -> None:
        self.at = self.at or time.monotonic()

    async def discard(self) -> None:
        pass


async def reply_starts(turns: int) -> list[tuple[float, str]]:
    from chat.chain import chain_from_settings
    from chat.providers.base import ReplyKind, ReplyRequest

    results = []
    for index in range(turns):
        request = ReplyRequest(session_id=f"bench-{index}", language="es", kind=ReplyKind.ADVANCE, step=1,
                               next_step=2, answer=f"Artista {uuid.uuid4().hex[:6]}")
        sink = FirstToken()
        reply = await chain_from_settings().reply(request, sink)
        results.append(((sink.at - sink.started) * 1000, reply.provider))
    return results


NEVER_OPENS = '{"openai": {"failure_threshold": 100000, "volume_threshold": 100000}}'
OPENS_AT_ONCE = '{"openai": {"failure_threshold": 1, "volume_threshold": 1, "recovery_timeout": 3600}}'


def run_case(label: str, turns: int, settings, fake, *, openai_url: str, fault: dict | None = None,
             breaker_open: bool = False) -> None:
    from resilience.breakers import get_breaker, reset_registry

    fake.clear()
    settings.RESILIENCE_KEY_PREFIX = f"bench-{uuid.uuid4().hex[:8]}"  # fresh breakers
    settings.OPENAI_BASE_URL = openai_url
    settings.BREAKER_OVERRIDES = OPENS_AT_ONCE if breaker_open else NEVER_OPENS
    reset_registry()  # plain assignments to settings send no setting_changed
    if fault:
        fake.inject("openai", **fault)
    if breaker_open:
        asyncio.run(reply_starts(1))  # one failing turn opens it, as in production (thresholds aside)
    samples = asyncio.run(reply_starts(turns))
    latencies = [latency for latency, _ in samples]
    providers = sorted({provider for _, provider in samples})
    state = get_breaker("openai").state
    print(f"{label:<44}{statistics.median(latencies):>9.0f}{percentile(latencies, 0.99):>9.0f}"
          f"   {','.join(providers):<12}{state}")


def log_cost(writes: int) -> None:
    from resilience.ai_log import ai_log_write
    from resilience.ai_records import AIRequestRecord, RecoveryRecord, RecoveryStrategy, RequestStatus

    def turn_records():
        turn = uuid.uuid4().hex
        base = dict(turn_id=turn, session_id="bench", step=1, model="m", latency_ms=900, first_token_ms=300,
                    tokens_in=200, tokens_out=40, retry_count=0, error_message="", fallback_used=True,
                    prompt_sha256="0" * 64, prompt_chars=900, reply_sha256="1" * 64, reply_chars=120)
        return ([AIRequestRecord(request_id=uuid.uuid4().hex, provider="openai", status=RequestStatus.TIMEOUT,
                                 error_code="timeout_first_token", **base),
                 AIRequestRecord(request_id=uuid.uuid4().hex, provider="anthropic", status=RequestStatus.SUCCESS,
                                 error_code="", **base)],
                [RecoveryRecord(turn, RecoveryStrategy.FALLBACK, 1, "openai -> anthropic", True, 5)])

    samples = []
    for _ in range(writes):
        requests, recoveries = turn_records()
        started = time.perf_counter()
        ai_log_write(requests=requests, recoveries=recoveries)
        samples.append((time.perf_counter() - started) * 1000)
    print(f"\nAI request log: writing one turn's records (2 requests, 1 recovery) takes "
          f"p50 {statistics.median(samples):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms;")
    print("it runs after the reply's last fragment is sent, so it adds nothing to reply start.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=20, help="turns per case (hang cases: a quarter)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bench-failover-"))
    redis_server = ExitStack()
    os.environ["REDIS_URL"] = redis_server.enter_context(bench_redis(data_dir))
    os.environ.setdefault("PRESSKIT_DATA_DIR", str(data_dir))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "presskit.settings")
    try:
        import django
        from django.conf import settings
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from chat.fake_llm.server import FakeLLMServer

        with FakeLLMServer() as fake:
            settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = "bench"
            settings.ANTHROPIC_BASE_URL = fake.anthropic_url()
            settings.AI_PROVIDER_CHAIN = ["openai", "anthropic", "template"]
            settings.CHAT_TEMPLATE_TOKEN_DELAY = 0
            healthy, refused = fake.openai_url(), f"http://127.0.0.1:{free_local_port()}/v1"  # nothing there
            hang, error = {"kind": "hang"}, {"kind": "status", "code": 500}
            print(f"reply start, {args.turns} turns per case (first-token deadline "
                  f"{settings.AI_FIRST_TOKEN_TIMEOUT:g} s)\n")
            print(f"{'case':<44}{'p50 ms':>9}{'p99 ms':>9}   {'answered by':<12}openai breaker")
            hang_turns = max(2, args.turns // 4)
            run_case("all healthy", args.turns, settings, fake, openai_url=healthy)
            run_case("openai refused, breaker closed", args.turns, settings, fake, openai_url=refused)
            run_case("openai refused, breaker open", args.turns, settings, fake, openai_url=refused,
                     breaker_open=True)
            run_case("openai hanging, breaker closed", hang_turns, settings, fake, openai_url=healthy, fault=hang)
            run_case("openai hanging, breaker open", args.turns, settings, fake, openai_url=healthy, fault=hang,
                     breaker_open=True)
            run_case("openai 500, breaker closed", args.turns, settings, fake, openai_url=healthy, fault=error)
            run_case("openai 500, breaker open", args.turns, settings, fake, openai_url=healthy, fault=error,
                     breaker_open=True)
        log_cost(200)
    finally:
        redis_server.close()


if __name__ == "__main__":
    main()
