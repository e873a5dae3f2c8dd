"""Real Celery processes for the queue-for-later tests: workers and beat on the real Redis
broker and the test database, with timers shortened through the environment.

Each `QueueStack` has a Redis key prefix of its own (REDIS_KEY_PREFIX): its broker queues, its
breakers, skip counts and drain slots never meet another test's leftovers (an unacked message
of a killed worker, a slot kept for a minute). The test process is pointed at the same prefix
and settings, so what it does (force a breaker, enqueue, run the drain, send a message) lands
where the processes look.
"""
from __future__ import annotations

import json
import signal
import sys
import uuid
from pathlib import Path

import redis
from django.conf import settings as django_settings

from presskit.celery import app as celery_app
from presskit.integrations import JOB_TYPE
from presskit.models import Integration, Presskit
from presskit.webhooks import secret_seal
from resilience.queue import JobRequest
from tests.servers import ServerProcess, database_url_of_test_db, server_environment
from tests.webhook_receiver import RECEIVER_NETWORK

# Short timers: a drain every half second, a job held 4 s at most (task limit 3 s, soft 2 s),
# backoff from half a second, breaker state trusted for 50 ms. Schedules the tests do not
# exercise are pushed out of the way.
DEFAULT_ENV = {
    "QUEUE_DRAIN_INTERVAL": "0.5",
    "QUEUE_BACKOFF_BASE": "0.5",
    "QUEUE_BACKOFF_MAX": "60",
    "QUEUE_JOB_LEASE": "4",
    "CELERY_TASK_TIME_LIMIT": "3",
    "CELERY_TASK_SOFT_TIME_LIMIT": "2",
    "QUEUE_RATE_LIMITS": json.dumps({"integration": 20}),
    "RESILIENCE_STATE_TTL": "0.05",
    "DEGRADATION_EVAL_INTERVAL": "3600",
    "PENDING_ANSWERS_REPLAY_INTERVAL": "3600",
    "INTEGRATION_ALLOWED_NETWORKS": RECEIVER_NETWORK,
    "LOG_ROUTINE_TASKS": "true",  # the tests count the drains in the worker's log
}

# Environment -> the test process's setting, and how to read it (as presskit/settings.py does).
_SETTINGS = {
    "QUEUE_DRAIN_INTERVAL": float, "QUEUE_BACKOFF_BASE": float, "QUEUE_BACKOFF_MAX": float,
    "QUEUE_JOB_LEASE": float, "QUEUE_MAX_ATTEMPTS": int, "QUEUE_DEFAULT_RATE": float,
    "QUEUE_RATE_LIMITS": json.loads, "RESILIENCE_STATE_TTL": float, "BREAKER_OVERRIDES": str,
    "INTEGRATION_SKIP_FAILURES": int, "INTEGRATION_SKIP_WINDOW": float,
}


def celery_transport_set(options: dict) -> None:
    """Give this process's Celery app new broker transport options (e.g. another key prefix):
    its pooled connections are closed, so the next message goes out with them."""
    celery_app.conf.broker_transport_options = options
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class QueueStack:
    def __init__(self, workdir: Path, settings, **overrides: str) -> None:
        """`settings` is pytest-django's fixture: the test process's settings are restored after."""
        self.prefix = f"qw-{uuid.uuid4().hex[:10]}"
        self.workdir = workdir
        self.env = server_environment(**{
            **DEFAULT_ENV, **overrides,
            "DATABASE_URL": database_url_of_test_db(), "REDIS_KEY_PREFIX": self.prefix,
        })
        self.processes: list[ServerProcess] = []
        self.workers: list[ServerProcess] = []
        self.beat: ServerProcess | None = None
        settings.RESILIENCE_KEY_PREFIX = f"{self.prefix}:resilience"
        for name, read in _SETTINGS.items():
            if name in self.env and name in {**DEFAULT_ENV, **overrides}:
                setattr(settings, name, read(self.env[name]))
        self._previous_transport = dict(celery_app.conf.broker_transport_options or {})
        celery_transport_set({"global_keyprefix": f"{self.prefix}:celery:"})

    def start_worker(self, *, concurrency: int = 1, name: str = "w1") -> ServerProcess:
        worker = ServerProcess(
            [sys.executable, "-m", "celery", "-A", "presskit", "worker", "--loglevel", "INFO",
             "--concurrency", str(concurrency), "--hostname", f"{name}-{self.prefix}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            self.env,
        )
        self.processes.append(worker)
        self.workers.append(worker)
        worker.wait_for_output(r"celery@\S+ ready|\S+@\S+ ready", timeout=30)
        return worker

    def start_beat(self) -> ServerProcess:
        self.beat = ServerProcess(
            [sys.executable, "-m", "celery", "-A", "presskit", "beat", "--loglevel", "INFO",
             "--schedule", str(self.workdir / f"beat-{self.prefix}")],
            self.env,
        )
        self.processes.append(self.beat)
        self.beat.wait_for_output(r"beat: Starting", timeout=30)
        return self.beat

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.process.poll() is None:
                process.stop(signal.SIGTERM, timeout=5)
        celery_transport_set(self._previous_transport)
        client = redis.Redis.from_url(django_settings.REDIS_URL)
        keys = list(client.scan_iter(f"{self.prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()

    def output(self) -> str:
        return "\n".join(f"--- {' '.join(p.process.args[2:5])}\n{p.output[-3000:]}" for p in self.processes)


# --- The real job type's rows ----------------------------------------------------------------
def integration_create(url: str, *, name: str = "booking", secret: str = "s3cret", enabled: bool = True
                       ) -> Integration:
    return Integration.objects.create(name=name, label=name.title(), url=url, secret_sealed=secret_seal(secret),
                                      enabled=enabled)


def presskit_create(artist_name: str = "Luna Roja") -> Presskit:
    return Presskit.objects.create(
        artist_name=artist_name, genres=["house", "techno"], experience="desde 2014", location="Madrid",
        story="Empecé pinchando los vinilos de mi padre.", booking_email="booking@example.com",
        short_bio="Luna Roja pincha house.", long_bio="Luna Roja pincha house y techno desde 2014.")


def sync_payload(integration: Integration, presskit: Presskit) -> dict:
    """The payload `integrations_sync` queues (presskit.integrations)."""
    return {"integration": integration.name, "presskit": str(presskit.pk), "version": presskit.updated_at.isoformat()}


def sync_key(payload: dict) -> str:
    return f"sync:{payload['integration']}:{payload['presskit']}:{payload['version']}"


def sync_request(integration: Integration, presskit: Presskit, *, priority: int | None = None) -> JobRequest:
    """A `presskit.integration_sync` job as `integrations_sync` queues it."""
    payload = sync_payload(integration, presskit)
    return JobRequest(JOB_TYPE, payload, sync_key(payload), owner=f"presskit:{presskit.pk}", priority=priority,
                      dependency=integration.dependency)
