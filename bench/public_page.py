"""The published presskit under load: the public page and its JSON, from the database and from the
snapshot, and the PDF's render time.

    .venv/bin/python bench/public_page.py [--requests 4000] [--concurrency 200]

Publishes one presskit (the real services, its export job run as a worker would), then:

- server time per request, in process (Django's handler, no network), p50/p99 over
  `--samples` requests: the page and the JSON read from the database, and from the snapshot
  (the `database` breaker forced open, as during an outage);
- a real Daphne hit by `--concurrency` concurrent clients (httpx, in this process) for
  `--requests` requests per route: p50/p99 latency seen by the clients and requests per second,
  beside /healthz as the floor of Daphne and the load generator on this machine; then a second
  Daphne pointed at a dead DATABASE_URL (the snapshot path, its breaker opening at once);
- the page's size (and gzipped), and the PDF's render time (WeasyPrint, p50 of five).

Uses DATABASE_URL when set (e.g. PostgreSQL), else a throw-away SQLite file; REDIS_URL when set,
else an embedded Redis. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_redis import bench_project  # noqa: E402


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def published_slug() -> str:
    from chat import services as chat_services
    from presskit.models import Presskit
    from presskit.services import presskit_publish
    from resilience.models import QueuedJob
    from resilience.queue import job_run

    session = chat_services.chat_session_create(language="es")
    Presskit.objects.filter(pk=session.presskit_id).update(
        artist_name="Luna Roja", genres=["house", "techno melódico", "disco"], experience="desde 2014",
        location="Madrid; salas y festivales de España",
        story="Empecé pinchando los vinilos de mi padre en Vallecas y hoy toco en festivales de toda España. " * 6,
        links=["@lunaroja", "https://soundcloud.com/lunaroja", "https://open.spotify.com/artist/x"],
        booking_email="booking@lunaroja.com", short_bio="Luna Roja es artista de house con base en Madrid. " * 3,
        long_bio=("Luna Roja es artista de house, techno melódico y disco con base en Madrid. " * 12), bio_source="template")
    presskit_publish(presskit_id=str(session.presskit_id), language="es")
    for job in QueuedJob.objects.filter(job_type="presskit.version_export", status="pending"):
        job_run(job.pk)
    return Presskit.objects.get(pk=session.presskit_id).slug


def in_process(slug: str, samples: int) -> None:
    from django.test import Client

    from resilience.breakers import get_breaker

    client = Client(HTTP_HOST="localhost")
    for source in ("database", "snapshot"):
        breaker = get_breaker("database")
        breaker.force_open() if source == "snapshot" else breaker.reset()
        for route in (f"/p/{slug}/", f"/p/{slug}.json"):
            client.get(route)  # warm
            times = []
            for _ in range(samples):
                started = time.perf_counter()
                response = client.get(route)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
            print(f"  in process, {source:8} {route:<28} p50 {ms(percentile(times, .5))}, "
                  f"p99 {ms(percentile(times, .99))}")
    get_breaker("database").reset()


async def hammer(base_url: str, route: str, requests: int, concurrency: int) -> tuple[list[float], int, float]:
    import httpx

    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(requests):
        queue.put_nowait(number)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.get(route)
                    failures += response.status_code != 200
                except httpx.HTTPError:
                    failures += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, failures, time.perf_counter() - started


def daphne(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    import httpx

    from presskit.embedded_redis import free_local_port

    port = free_local_port()
    process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                "presskit.asgi:application"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("daphne did not start")


def under_load(slug: str, requests: int, concurrency: int) -> None:
    for source, overrides in (("database", {}), ("snapshot", {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/gone",
                                                              "DATABASE_POOL_TIMEOUT": "0.5"})):
        env = {**os.environ, "LOG_LEVEL": "ERROR", **overrides}
        process, base_url = daphne(env)
        try:
            # The floor: Daphne, Django's handler and this load generator on the same two cores.
            routes = (["/healthz"] if source == "database" else []) + [f"/p/{slug}/", f"/p/{slug}.json"]
            for route in routes:
                asyncio.run(hammer(base_url, route, 50, 10))  # warm (and, for the snapshot, open the breaker)
                latencies, failures, elapsed = asyncio.run(hammer(base_url, route, requests, concurrency))
                print(f"  1 Daphne, {concurrency} clients, {source:8} {route:<28} p50 {ms(percentile(latencies, .5))}, "
                      f"p99 {ms(percentile(latencies, .99))}, {requests / elapsed:.0f} req/s, {failures} failed")
        finally:
            process.terminate()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()

    with bench_project("public") as where:
        print(f"public presskit: {where}")
        slug = published_slug()

        from django.test import Client

        from presskit.exports import pdf_render
        from presskit.models import Presskit

        page = Client(HTTP_HOST="localhost").get(f"/p/{slug}/").content
        print(f"  page size {len(page) / 1024:.1f} KiB, gzipped {len(gzip.compress(page)) / 1024:.1f} KiB")
        document = Presskit.objects.select_related("published_version").get(slug=slug).published_version.document
        renders = []
        for _ in range(5):
            started = time.perf_counter()
            pdf = pdf_render(document)
            renders.append(time.perf_counter() - started)
        print(f"  PDF render p50 {ms(statistics.median(renders))} (first {ms(renders[0])}), {len(pdf) / 1024:.1f} KiB")
        in_process(slug, args.samples)
        under_load(slug, args.requests, args.concurrency)


if __name__ == "__main__":
    main()
