"""Draining the queue for later after an outage: how fast, and whether anything is lost or done
twice.

    make bench            # or: .venv/bin/python bench/drain.py [--jobs 10000] [--rate 100]

Queues `--jobs` presskit sends to one integration (`presskit.integration_sync`, the real job
type) while the integration's breaker is forced open, starts real Celery processes (`--workers`
workers of `--concurrency` processes each, and beat, which runs the drain every `--interval`
seconds), checks that nothing is sent while the outage lasts, then resets the breaker and
measures the drain into a real webhook receiver (tests/webhook_receiver.py) until every job is
done:

- drain rate (deliveries per second over the steady part: the middle 80 % of deliveries)
  against the configured limit (QUEUE_RATE_LIMITS = {"integration": --rate});
- lost: jobs not done at the end, or Idempotency-Keys never applied by the receiver;
- doubled: keys delivered more than once, jobs run more than once (attempts > 1), duplicate
  messages (runs that found their job already taken);
- the drain's own cost per run and how late its runs were, and the workers' time per job.

Uses DATABASE_URL when set (e.g. PostgreSQL; the bench's rows are deleted at the end), else a
throw-away SQLite file; REDIS_URL when set (on a key prefix of its own), else an embedded Redis.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
from contextlib import ExitStack
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_redis import bench_redis  # noqa: E402
from tests.webhook_receiver import WebhookReceiver  # noqa: E402

LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): ")
DRAIN_RUN = re.compile(r"Task resilience\.tasks\.queue_drain\[\S+\] succeeded in ([\d.e-]+)s: (\{.*\})")
JOB_RUN = re.compile(r"Task resilience\.tasks\.queue_job_run\[\S+\] succeeded in ([\d.e-]+)s: '(\w+)'")
REVOKED = re.compile(r"Discarding revoked task: resilience\.tasks\.queue_drain|"
                     r"queue_drain\[\S+\] (?:expired|revoked)")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else float("nan")


class Process:
    """A Celery process in its own process group, its log kept in memory."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(re.search(pattern, line) for line in list(self.lines)):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{pattern!r} never appeared:\n{''.join(self.lines[-40:])}")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def log_time(line: str) -> float | None:
    match = LOG_TIME.match(line)
    if match is None:
        return None
    return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def queue_jobs(jobs: int, integration_name: str, url: str) -> tuple[list[str], float]:
    """`jobs` finished presskits and their queued sends, as `integrations_sync` leaves them when
    the integration's breaker refuses (pending, no attempt used). Written in bulk: the bench
    measures the drain, not the queueing."""
    from django.conf import settings
    from django.utils import timezone

    from presskit.integrations import INTEGRATION_SYNC, JOB_TYPE
    from presskit.models import Integration, Presskit
    from presskit.webhooks import secret_seal
    from resilience.models import QueuedJob

    started = time.perf_counter()
    integration = Integration.objects.create(name=integration_name, label="Bench", url=url,
                                             secret_sealed=secret_seal("bench"))
    presskits = Presskit.objects.bulk_create(
        [Presskit(artist_name=f"Bench {n}", genres=["house"], story="bench") for n in range(jobs)], batch_size=1000)
    now = timezone.now()
    rows, keys = [], []
    for presskit in presskits:
        payload = {"integration": integration.name, "presskit": str(presskit.pk),
                   "version": presskit.updated_at.isoformat()}
        key = f"sync:{payload['integration']}:{payload['presskit']}:{payload['version']}"
        keys.append(key)
        rows.append(QueuedJob(job_type=JOB_TYPE, payload=payload, priority=INTEGRATION_SYNC.priority,
                              idempotency_key=key, dependency=integration.dependency, owner=f"presskit:{presskit.pk}",
                              max_attempts=settings.QUEUE_MAX_ATTEMPTS, next_attempt_at=now))
    QueuedJob.objects.bulk_create(rows, batch_size=1000)
    return keys, time.perf_counter() - started


def bench_rows_delete(integration_name: str) -> None:
    from presskit.models import Integration, Presskit
    from resilience.models import QueuedJob

    owners = QueuedJob.objects.filter(payload__integration=integration_name).values_list("owner", flat=True)
    presskit_ids = [owner.split(":", 1)[1] for owner in owners]
    QueuedJob.objects.filter(payload__integration=integration_name).delete()
    for start in range(0, len(presskit_ids), 1000):
        Presskit.objects.filter(pk__in=presskit_ids[start:start + 1000]).delete()
    Integration.objects.filter(name=integration_name).delete()


def steady_rate(times: list[float]) -> tuple[float, float, float]:
    """Deliveries per second over the middle 80 %, and the 5th / 95th percentile of per-second
    counts in that part."""
    ordered = sorted(times)
    low, high = ordered[len(ordered) // 10], ordered[len(ordered) * 9 // 10]
    inside = [t for t in ordered if low <= t <= high]
    rate = (len(inside) - 1) / (high - low) if high > low else float("nan")
    seconds = Counter(int(t - low) for t in inside if t - low < int(high - low))
    counts = [seconds.get(second, 0) for second in range(int(high - low))]
    return rate, percentile(counts, 0.05), percentile(counts, 0.95)


def drain_figures(lines: list[str], started: float) -> dict[str, float]:
    """From the workers' logs: each drain run's duration, jobs handed out, and the gaps between
    the runs' starts (beat ticks every --interval; a run that waited for a free worker process
    starts late, and a run that waited longer than its expiry is discarded)."""
    durations, handed, starts = [], [], []
    revoked = 0
    for line in lines:
        if REVOKED.search(line):
            revoked += 1
        match = DRAIN_RUN.search(line)
        if match is None or (at := log_time(line)) is None or at < started:
            continue
        duration = float(match.group(1))
        durations.append(duration)
        handed.append(sum(json.loads(match.group(2).replace("'", '"')).values()))
        starts.append(at - duration)
    starts.sort()
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    return {"runs": len(durations), "duration_p50": percentile(durations, 0.5), "duration_p99": percentile(durations, 0.99),
            "handed_p50": percentile(handed, 0.5), "gap_p50": percentile(gaps, 0.5), "gap_p99": percentile(gaps, 0.99),
            "gap_max": max(gaps, default=float("nan")), "revoked": revoked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="the integration's drain rate limit, jobs/s")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker")
    parser.add_argument("--interval", type=float, default=1.0, help="QUEUE_DRAIN_INTERVAL, seconds")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    redis_server = ExitStack()
    os.environ["REDIS_URL"] = redis_server.enter_context(bench_redis(data_dir))
    prefix = f"bench-drain-{uuid.uuid4().hex[:8]}"
    os.environ.update({
        "PRESSKIT_DATA_DIR": os.environ.get("PRESSKIT_DATA_DIR", str(data_dir)),
        "DJANGO_SETTINGS_MODULE": "presskit.settings",
        "INTEGRATION_ALLOWED_NETWORKS": "127.0.0.0/8",  # the bench's receiver is on loopback
        "LOG_ROUTINE_TASKS": "true",  # the drain's runs are read from the workers' log
        "REDIS_KEY_PREFIX": prefix,
        "QUEUE_RATE_LIMITS": json.dumps({"integration": args.rate}),
        "QUEUE_DRAIN_INTERVAL": str(args.interval),
        # Schedules this bench does not measure stay out of the workers' way.
        "DEGRADATION_EVAL_INTERVAL": "3600", "PENDING_ANSWERS_REPLAY_INTERVAL": "3600",
        "PYTHONUNBUFFERED": "1",
    })
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{data_dir / 'bench.sqlite3'}")
    processes: list[Process] = []
    integration_name = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        import django
        from django.conf import settings
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from resilience.breakers import get_breaker
        from resilience.models import QueuedJob

        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[1]
        print(f"drain of {args.jobs} queued integration sends: {database}, Redis {settings.REDIS_URL}, "
              f"{args.workers} worker(s) x {args.concurrency} processes, drain every {args.interval:g} s, "
              f"limit {args.rate:g}/s\n")
        with WebhookReceiver(keep_bodies=False) as receiver:
            breaker = get_breaker(f"integration:{integration_name}")
            breaker.force_open("bench: the outage")
            keys, queue_seconds = queue_jobs(args.jobs, integration_name, receiver.url)
            print(f"queued during the outage: {len(keys)} jobs in {queue_seconds:.1f} s")

            env = dict(os.environ)
            for n in range(args.workers):
                processes.append(Process([sys.executable, "-m", "celery", "-A", "presskit", "worker", "--loglevel",
                                          "INFO", "--concurrency", str(args.concurrency), "--hostname",
                                          f"bench{n}-{prefix}@%h", "--without-gossip", "--without-mingle",
                                          "--without-heartbeat"], env))
            for worker in processes:
                worker.wait_for(r"@\S+ ready")
            processes.append(Process([sys.executable, "-m", "celery", "-A", "presskit", "beat", "--loglevel", "INFO",
                                      "--schedule", str(data_dir / "beat-schedule")], env))
            processes[-1].wait_for(r"beat: Starting")
            time.sleep(max(3 * args.interval, 2))
            sent_during_outage = len(receiver.requests)
            print(f"sent while the breaker was open: {sent_during_outage}")

            breaker.reset("bench: the outage ends")
            ended = time.time()
            deadline = time.monotonic() + args.jobs / args.rate * 3 + 120
            done = 0
            while time.monotonic() < deadline:
                done = QueuedJob.objects.filter(payload__integration=integration_name, status="done").count()
                if done == args.jobs:
                    break
                time.sleep(0.5)
            finished = time.time()
            time.sleep(max(2 * args.interval, 2))  # late duplicates, if any, would arrive now

            deliveries = receiver.deliveries()
            jobs = QueuedJob.objects.filter(payload__integration=integration_name)
            not_done = jobs.exclude(status="done").count()
            statuses = Counter(jobs.values_list("status", flat=True))
            run_twice = jobs.filter(attempts__gt=1).count()
            seen = Counter(delivery.key for delivery in deliveries)
            never_applied = sum(1 for key in keys if not receiver.applied.get(key))
            applied_twice = sum(1 for count in receiver.applied.values() if count > 1)
            delivered_twice = sum(1 for count in seen.values() if count > 1)
            times = sorted(receiver.applied_at.values())

        worker_lines = [line for worker in processes[:-1] for line in worker.lines]
        job_runs = [(float(m.group(1)), m.group(2)) for line in worker_lines if (m := JOB_RUN.search(line))]
        outcomes = Counter(outcome for _, outcome in job_runs)
        run_seconds = [seconds for seconds, outcome in job_runs if outcome == "done"]
        drains = drain_figures(worker_lines, ended)

        rate, per_second_p5, per_second_p95 = steady_rate(times) if len(times) > 10 else (float("nan"),) * 3
        total = (times[-1] - ended) if times else float("nan")
        print(f"\ndrained: {done}/{args.jobs} done in {total:.1f} s after the outage ended "
              f"(all done seen at {finished - ended:.1f} s)")
        print(f"drain rate (steady, middle 80 %): {rate:.1f} jobs/s vs limit {args.rate:g}/s "
              f"({(rate / args.rate - 1) * 100:+.1f} %); per second p5 {per_second_p5}, p95 {per_second_p95}")
        print(f"overall: {len(times) / total:.1f} jobs/s" if times else "overall: nothing delivered")
        print(f"lost: {not_done} jobs not done {dict(statuses)}, {never_applied} keys never applied")
        print(f"doubled: {applied_twice} keys applied twice, {delivered_twice} keys delivered twice, "
              f"{run_twice} jobs run more than once (attempts > 1), "
              f"{outcomes.get('skipped', 0)} duplicate messages (found their job taken)")
        print(f"job runs by outcome: {dict(outcomes)}; worker time per sent job p50 "
              f"{percentile(run_seconds, 0.5) * 1000:.1f} ms, p99 {percentile(run_seconds, 0.99) * 1000:.1f} ms "
              f"(capacity ~{args.workers * args.concurrency / percentile(run_seconds, 0.5):.0f} jobs/s)"
              if run_seconds else f"job runs by outcome: {dict(outcomes)}")
        print(f"drain runs: {drains['runs']} (discarded as expired: {drains['revoked']}), each p50 "
              f"{drains['duration_p50'] * 1000:.0f} ms / p99 {drains['duration_p99'] * 1000:.0f} ms handing out "
              f"p50 {drains['handed_p50']:.0f} jobs; gap between runs p50 {drains['gap_p50']:.2f} s, "
              f"p99 {drains['gap_p99']:.2f} s, max {drains['gap_max']:.2f} s (beat interval {args.interval:g} s)")
        bench_rows_delete(integration_name)
    finally:
        for process in reversed(processes):
            process.stop()
        redis_server.close()


if __name__ == "__main__":
    main()
