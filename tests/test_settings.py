"""The settings that matter are present and effective (a typo in a setting name fails silently)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.core.cache import cache, caches
from django_redis.cache import RedisCache
from kombu.transport.redis import Transport as KombuRedisTransport

from presskit import celery_app
from resilience.redis_client import shared_redis
from resilience import breakers
from tests.servers import REPO


def test_every_redis_user_points_at_the_one_redis():
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert isinstance(caches["default"], RedisCache)
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "presskit.async_redis.WaitingRedisChannelLayer"  # channels-redis
    assert [host["address"] for host in settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]] == [settings.REDIS_URL]
    assert celery_app.conf.broker_url == settings.REDIS_URL


def _timeouts(pool) -> tuple[float | None, float | None]:
    kwargs = pool.connection_kwargs
    return kwargs.get("socket_timeout"), kwargs.get("socket_connect_timeout")


def test_every_redis_client_has_explicit_timeouts_longer_than_its_blocking_reads():
    """As the libraries build their pools (no library default is relied on; redis-py 8 changed it)."""
    connect = settings.REDIS_CONNECT_TIMEOUT
    # The channel layer blocks in BZPOPMIN on the same pool as its sends.
    layer = get_channel_layer()
    assert _timeouts(layer.create_pool(0)) == (settings.CHANNEL_LAYER_SOCKET_TIMEOUT, connect)
    assert settings.CHANNEL_LAYER_SOCKET_TIMEOUT >= 2 * RedisChannelLayer.brpop_timeout
    # Celery's broker: the worker's BRPOP and pub/sub, everybody's publishes.
    with celery_app.connection_for_write() as connection:
        broker_timeout, broker_connect = _timeouts(connection.default_channel.client.connection_pool)
        assert connection.default_channel.brpop_timeout == KombuRedisTransport.brpop_timeout
    assert (broker_timeout, broker_connect) == (10.0, connect)
    assert broker_timeout >= 2 * KombuRedisTransport.brpop_timeout
    # Plain commands only: short.
    assert _timeouts(cache.client.get_client().connection_pool) == (2.0, connect)
    ours = settings.RESILIENCE_REDIS_TIMEOUTS
    assert _timeouts(shared_redis().connection_pool) == (ours["shared"], ours["shared"])
    breaker_store = breakers.get_breaker("openai").store.shared  # the project's registry, as built
    assert _timeouts(breaker_store.client.connection_pool) == (ours["breakers"], ours["breakers"])
    assert max(ours.values()) <= 1.0


def test_the_cache_really_talks_to_redis():
    cache.set("settings-probe", "ok", 5)
    assert cache.get("settings-probe") == "ok"


def test_celery_settings_are_effective():
    conf = celery_app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT > conf.task_soft_time_limit
    assert conf.worker_soft_shutdown_timeout == settings.CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT > 0
    assert conf.worker_prefetch_multiplier == 1
    assert "sessions-clear-expired" in conf.beat_schedule and "queue-drain" in conf.beat_schedule
    celery_app.loader.import_default_modules()  # what a worker does at start: find every app's tasks
    for task in ("presskit.tasks.sessions_clear_expired", "resilience.tasks.queue_drain",
                 "resilience.tasks.queue_job_run"):
        assert task in celery_app.tasks
    job_run = celery_app.tasks["resilience.tasks.queue_job_run"]
    assert job_run.acks_late and job_run.reject_on_worker_lost
    assert settings.QUEUE_JOB_LEASE > conf.task_time_limit  # a live worker never loses its lease
    assert conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX > 0  # read by Celery's Django fixup


def test_daphne_friendly_database_settings():
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0
    assert settings.LANGUAGE_CODE == "es"
    assert [code for code, _ in settings.LANGUAGES] == ["es", "en"]


@pytest.mark.parametrize("command", [["manage.py", "check"], ["-m", "celery", "-A", "presskit", "inspect", "ping"]])
def test_without_redis_url_a_process_stops_with_one_clear_sentence(command, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PRESSKIT_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, *command], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    message = result.stderr.strip()
    assert "Traceback" not in message
    assert message.count("\n") == 0, message
    assert "REDIS_URL is not set" in message and "make run" in message and "REDIS_URL=redis://" in message
