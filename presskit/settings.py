"""Django settings for ÍTERA PressKit.

Everything an operator may change comes from the environment (see README, "Settings"); each
default here is the one a laptop with no services gets from `make run`.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
import tempfile
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from limits import parse_many

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# Where the embedded default keeps its files: SQLite, the embedded Redis, the secret key.
DATA_DIR = Path(env("PRESSKIT_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

REDIS_URL = env("REDIS_URL", default="")
if not REDIS_URL:
    # One sentence, no traceback: this is how a process started by hand learns what to do.
    raise SystemExit(
        "REDIS_URL is not set: start the app with `make run` (it starts an embedded Redis for you) "
        "or set REDIS_URL to your Redis server, e.g. REDIS_URL=redis://127.0.0.1:6379/0."
    )


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data folder."""
    if key := env("SECRET_KEY", default=""):
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # Written whole to a private temporary file, then linked into place: processes that
        # start together all end up reading the one complete key.
        with tempfile.NamedTemporaryFile("w", dir=DATA_DIR, delete=False) as draft:
            draft.write(secrets.token_urlsafe(50))
        try:
            os.link(draft.name, key_file)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft.name)
    return key_file.read_text().strip()


def _networks(cidrs: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """CIDRs, parsed now: a typo stops the process at start, not a request later."""
    return [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip()]


def _rate_limits(windows: str) -> str:
    """Rate windows in the `limits` notation ("5/10seconds;20/minute"), checked now (a typo stops
    the process at start); empty: none."""
    if windows:
        parse_many(windows)
    return windows


SECRET_KEY = _secret_key()
# Former keys, still accepted for what they signed or sealed (sessions, webhook secrets) while a
# new SECRET_KEY rolls out.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DJANGO_APPS = [
    "daphne",  # first: its runserver serves ASGI (HTTP and WebSockets) in development
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",  # sitemap.xml; hosts come from the request (no django.contrib.sites)
]
THIRD_PARTY_APPS = [
    "channels",
    "django_htmx",
]
LOCAL_APPS = [
    "presskit",
    "chat",
    "resilience",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from Daphne, no extra server
    "presskit.csp.PhotoOriginCSPMiddleware",  # Content-Security-Policy (see CONTENT_SECURITY_POLICY)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # es by default, en from the browser or switcher
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "presskit.urls"
ASGI_APPLICATION = "presskit.asgi.application"
# Python's garbage collector thresholds in Daphne (presskit.collector; CPython's default: 700,10,10).
GC_THRESHOLDS = tuple(env.list("GC_THRESHOLDS", cast=int, default=[20_000, 10, 100]))

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite in the data folder unless DATABASE_URL names another (Postgres in production).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = 0  # Daphne: connections are not reused across events
# Connections each process's pool holds (Postgres).
DATABASE_POOL_MAX = env.int("DATABASE_POOL_MAX", default=10)
# Threads the chat's database work runs on (chat.db): few, as they share the GIL with the event loop.
CHAT_DATABASE_THREADS = env.int("CHAT_DATABASE_THREADS", default=2)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's pool instead of persistent connections, which leak under ASGI.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": DATABASE_POOL_MAX,
        # Seconds a request waits for a pooled connection (psycopg's default is 30): a database
        # that is down fails a request quickly and the `database` breaker takes over.
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5.0),
    }
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 3)  # libpq: an unreachable host
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        # Several processes (Daphne, worker) write: wait for the lock, take it up front, use WAL.
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    })
    # A file, not memory, so server processes started by tests share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: one server for the cache, the channel layer and the Celery broker.
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default="presskit")

# Redis timeouts, in seconds, set for every client and never left to a library default:
# redis-py 8 turned its socket timeouts from "none" into 5 s, which cut channels-redis's 5 s
# blocking reads and closed every idle chat with 1011 (redis/redis-py#4091). Two rules:
# - a client that blocks on the server (BZPOPMIN, BRPOP) has a socket timeout well above its
#   block, so only a Redis that stopped answering trips it;
# - a client of plain commands has a short one, so a hung Redis costs a caller little and the
#   breakers and health checks notice it.
# Connecting is bounded everywhere: a Redis that is down refuses at once, an unreachable host
# (a dead node, a partition) is given up on after REDIS_CONNECT_TIMEOUT.
# tests/test_idle_connections.py and tests/queue_worker/test_idle_worker.py keep a socket and a
# worker idle for twice the longest block; CI runs them on the newest redis-py 7 and 8 too.
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=2.0)

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        # Plain commands only (the reply cache, kept answers, locks that poll): a page or a turn
        # waits at most 2 s on a hung Redis, then carries on without the cache.
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT, "SOCKET_TIMEOUT": 2.0},
    }
}
# The channel layer's one pool serves both its blocking receive (BZPOPMIN for
# RedisChannelLayer.brpop_timeout = 5 s, on an idle chat, forever) and its sends (group_send of
# each fragment). 15 s is three blocks: a live Redis always answers the receive within 5 s, so
# only a Redis that stopped answering trips it; a send to such a Redis gives up after 15 s.
# The health check PINGs a pooled connection idle for more than 15 s before reusing it (the
# receiving connections never are), and with retry_on_timeout a connection dropped meanwhile
# (a Redis restart) is reconnected once instead of failing the chat.
CHANNEL_LAYER_SOCKET_TIMEOUT = 15.0
# Asyncio Redis pools (the channel layer, the chat's limits) hold this many connections per process
# and event loop, and a call waits up to REDIS_POOL_WAIT seconds for a free one (presskit.async_redis):
# a burst of sockets opening or closing at once waits a moment instead of failing.
REDIS_ASYNC_MAX_CONNECTIONS = env.int("REDIS_ASYNC_MAX_CONNECTIONS", default=200)
REDIS_POOL_WAIT = env.float("REDIS_POOL_WAIT", default=2.0)
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "presskit.async_redis.WaitingRedisChannelLayer",
        "CONFIG": {
            "hosts": [{
                "address": REDIS_URL,
                "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "health_check_interval": 15,
                "retry_on_timeout": True,
            }],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi",
            # Room for bursts of fragments to a busy chat; the default of 100 drops silently.
            "capacity": 1000,
            "expiry": 60,
            # A group entry not renewed within this many seconds is dropped: open chat sockets renew
            # theirs every minute (chat.consumers), so the entries of sockets whose cleanup never ran
            # (a process killed, a close burst past its timeout) stop costing every broadcast within
            # minutes, not the library's default day.
            "group_expiry": 300,
        },
    }
}

# Circuit breakers (resilience app): state in Redis, shared by every process.
RESILIENCE_REDIS_URL = REDIS_URL
RESILIENCE_KEY_PREFIX = f"{REDIS_KEY_PREFIX}:resilience"
# Socket (and connect) timeouts of the resilience app's own Redis clients, all plain commands:
# short, because each sits on a path that must go on without Redis (its caller falls back to a
# per-process view) and a slow answer is worth less than a fast fallback.
RESILIENCE_REDIS_TIMEOUTS = {
    "breakers": 0.5,     # the breaker store, on every guarded call; then the local view decides
    "degradation": 0.5,  # the level store, read on every turn and page; then the local level
    "shared": 0.25,      # drain slots, chaos drills: a caller loses at most this, once
    "health": 1.0,       # the health checks' PING: a Redis slower than this is reported failing
    "limits": 0.25,      # the chat's rate limits (chat.throttle): uncounted rather than slow
}
# Seconds a process trusts the breaker state it last read from Redis: CLOSED and OPEN decisions
# then cost no round trip; another process's transition reaches this one within this delay.
RESILIENCE_STATE_TTL = env.float("RESILIENCE_STATE_TTL", default=0.25)
AI_TOTAL_TIMEOUT = env.float("AI_TOTAL_TIMEOUT", default=10.0)
_AI_BREAKER = {"failure_threshold": 5, "volume_threshold": 10, "window": 60, "recovery_timeout": 60,
               "call_timeout": AI_TOTAL_TIMEOUT}
RESILIENCE_BREAKERS = {
    "openai": _AI_BREAKER,
    "anthropic": _AI_BREAKER,
    "local": _AI_BREAKER,
    "database": {"failure_threshold": 3, "volume_threshold": 3, "window": 30, "recovery_timeout": 30,
                 "call_timeout": 5},
    "redis": {"failure_threshold": 5, "volume_threshold": 5, "window": 20, "recovery_timeout": 20,
              "call_timeout": 2},
    "storage": {"failure_threshold": 5, "volume_threshold": 5, "window": 30, "recovery_timeout": 30,
                "call_timeout": 30},
    # The template for every `integration:<service>` breaker (webhooks, mailing lists…).
    "integration": {"failure_threshold": 3, "volume_threshold": 3, "window": 300, "recovery_timeout": 60,
                    "call_timeout": 10},
}
# JSON, e.g. {"openai": {"recovery_timeout": 5}}: fields failure_threshold, volume_threshold,
# window, recovery_timeout, call_timeout. Checked at startup: a typo is an error.
BREAKER_OVERRIDES = env("BREAKER_OVERRIDES", default="")

# Degradation levels (resilience app): computed from health checks and breaker states, stored in
# Redis next to the breakers. Evaluated every DEGRADATION_EVAL_INTERVAL seconds (Celery beat)
# and on every breaker transition; a worse level applies at once, a better one only once it has
# held for DEGRADATION_RECOVERY_HOLD seconds (so a flapping dependency does not flap the banner).
DEGRADATION_EVAL_INTERVAL = env.float("DEGRADATION_EVAL_INTERVAL", default=30.0)
DEGRADATION_RECOVERY_HOLD = env.float("DEGRADATION_RECOVERY_HOLD", default=60.0)
# Seconds the health checks (run concurrently) may take together; a slower one is "timeout".
DEGRADATION_CHECK_TIMEOUT = env.float("DEGRADATION_CHECK_TIMEOUT", default=4.0)
# Component name -> import string of a callable returning a ComponentHealth (or a list of them).
DEGRADATION_HEALTH_CHECKS = {
    "database": "resilience.health.database_health",
    "redis": "resilience.health.redis_health",
    "broker": "resilience.health.broker_health",
    "ai": "resilience.health.ai_provider_health",
}
# The presskits' figures on the staff status dashboard (resilience.admin).
RESILIENCE_DASHBOARD_FIGURES = "presskit.selectors.dashboard_figures"
# Which AI providers are configured (keys or URL set): no key at all is templates, not an outage.
DEGRADATION_AI_PROVIDERS = "chat.chain.configured_ai_providers"
# Asks an AI provider whose breaker waits for its probe one short question (see resilience.health).
DEGRADATION_AI_PROBE = "chat.health.probe_ai_provider"

# Sessions in the database: an artist's claim to a chat survives a Redis restart.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Messages (the admin's, e.g. a rotated webhook secret shown once) are kept server-side, in the
# session, never in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 24 * 30)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SESSION_COOKIE_SECURE)

# HTTPS (README, "Production settings"): every default keeps `make run` on plain http://localhost.
# Behind a TLS proxy the app sees http; SECURE_PROXY_SSL_HEADER=true trusts the proxy's
# X-Forwarded-Proto, which is safe only where the proxy sets it on every request (deploy/nginx.conf
# does) and nothing else reaches the app. It also tells the WebSocket origin check (presskit.origins)
# that the page was https.
_BEHIND_TLS_PROXY = env.bool("SECURE_PROXY_SSL_HEADER", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Load balancers' probes and Prometheus reach the app inside the network, over plain http.
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# The Content-Security-Policy of every response that sets none of its own (django-csp, through
# presskit.csp, which adds the photo storage's origin to img-src when photos are served from
# elsewhere); the public presskit sets its stricter one (presskit.views.PUBLIC_CSP). Nothing we
# serve has inline script or style, nor does the admin. The chat's socket is 'self': CSP Level 3
# matches ws: and wss: on the page's own host and port.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Who may read /metrics and the details of /readyz (presskit.operator_access): a request with
# `Authorization: Bearer <METRICS_TOKEN>` (empty: no token is accepted), and, for /metrics only,
# one from METRICS_ALLOWED_NETWORKS. That is the connecting address: behind a proxy it is the
# proxy's, so never list the proxy; scrape the app directly or with the token. A typo is an error
# at startup.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = _networks(env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"]))

# Queue for later (resilience app): failed work kept in the database, handed to the workers by
# the drain (Celery beat, every QUEUE_DRAIN_INTERVAL seconds) when its dependency's breaker allows,
# at most QUEUE_RATE_LIMITS[dependency] jobs per second (JSON, e.g. {"ai": 0.5, "storage": 5};
# `integration` covers every integration), else QUEUE_DEFAULT_RATE. A failed attempt waits
# QUEUE_BACKOFF_BASE × 2^(attempts−1) seconds (with jitter, at most QUEUE_BACKOFF_MAX); after
# QUEUE_MAX_ATTEMPTS the job is dead-lettered. A worker holds a job for QUEUE_JOB_LEASE seconds
# at most (more than the task time limit): after that it counts as lost and the job is due again.
QUEUE_DRAIN_INTERVAL = env.float("QUEUE_DRAIN_INTERVAL", default=5.0)
QUEUE_RATE_LIMITS = env.json("QUEUE_RATE_LIMITS", default={"ai": 0.5, "storage": 5, "integration": 2})
QUEUE_DEFAULT_RATE = env.float("QUEUE_DEFAULT_RATE", default=1.0)
QUEUE_BACKOFF_BASE = env.float("QUEUE_BACKOFF_BASE", default=30.0)
QUEUE_BACKOFF_MAX = env.float("QUEUE_BACKOFF_MAX", default=3600.0)
QUEUE_MAX_ATTEMPTS = env.int("QUEUE_MAX_ATTEMPTS", default=8)
# Skip a failing integration (seed 001): one that failed INTEGRATION_SKIP_FAILURES times in the
# last INTEGRATION_SKIP_WINDOW seconds is not called; its work waits in the queue.
INTEGRATION_SKIP_FAILURES = env.int("INTEGRATION_SKIP_FAILURES", default=3)
INTEGRATION_SKIP_WINDOW = env.float("INTEGRATION_SKIP_WINDOW", default=300.0)
# Webhooks are only sent to public addresses (presskit.webhooks); internal receivers staff vouch
# for are listed here as networks, e.g. "10.0.5.0/24,fd00::/8". Empty: none.
INTEGRATION_ALLOWED_NETWORKS = [str(network) for network in
                                _networks(env.list("INTEGRATION_ALLOWED_NETWORKS", default=[]))]
# The AI bio and the sends to the integrations are queued with the answer that finishes a
# presskit, and done by the chat turn right after; a worker does them only if the turn has not
# QUEUE_WRITE_AHEAD_GRACE seconds later (the process that had them died).
QUEUE_WRITE_AHEAD_GRACE = env.float("QUEUE_WRITE_AHEAD_GRACE", default=60.0)

# Celery: Redis broker, JSON only, bounded tasks, late acks only where a task says so.
CELERY_BROKER_URL = REDIS_URL
# The broker's clients (kombu): the worker waits for tasks with BRPOP of 1 s (kombu's
# Transport.brpop_timeout) in its event loop, and listens for remote-control broadcasts on
# pub/sub; publishers (Daphne, beat, the worker itself) send plain commands. A 10 s socket
# timeout is ten blocks: it never cuts a live wait, yet a publish to a hung Redis gives up
# instead of hanging a request forever (kombu's own default is "none"). kombu also drops a
# BRPOP or pub/sub connection whose reply is overdue by health_check_interval (half-open TCP).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
    "socket_timeout": 10.0,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    "health_check_interval": 25,
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
QUEUE_JOB_LEASE = env.float("QUEUE_JOB_LEASE", default=CELERY_TASK_TIME_LIMIT + 30)
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 10.0
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connections around every task unless told to reuse
# them: a new PostgreSQL connection per queued job halves the drain rate (bench/drain.py). A
# connection broken meanwhile fails one task, whose job is handed out again.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
# Hours a draft whose chat never got an answer is kept (rows left by releases that stored a chat
# on every page load; chats are now stored on their first answer).
UNANSWERED_CHATS_MAX_AGE = env.float("UNANSWERED_CHATS_MAX_AGE", default=24.0)

# Seconds between moves of the public pages' counts from Redis to the database (presskit.stats).
STATS_FLUSH_INTERVAL = env.float("STATS_FLUSH_INTERVAL", default=60.0)
# Seconds within which one visitor counts once per event and version (a reload, a second
# download, a flood of forged beacons add nothing).
STATS_REPEAT_WINDOW = env.float("STATS_REPEAT_WINDOW", default=1800.0)

CELERY_BEAT_SCHEDULE = {
    "stats-flush": {
        "task": "presskit.tasks.stats_flush",
        "schedule": STATS_FLUSH_INTERVAL,
        "options": {"expires": STATS_FLUSH_INTERVAL},
    },
    "pending-answers-replay": {
        "task": "chat.tasks.pending_answers_replay",
        "schedule": env.float("PENDING_ANSWERS_REPLAY_INTERVAL", default=15.0),
        "options": {"expires": env.float("PENDING_ANSWERS_REPLAY_INTERVAL", default=15.0)},
    },
    "unanswered-chats-remove": {
        "task": "chat.tasks.unanswered_chats_remove",
        "schedule": 60 * 60,
    },
    "sessions-clear-expired": {
        "task": "presskit.tasks.sessions_clear_expired",
        "schedule": 60 * 60,
    },
    "ai-logs-purge": {
        "task": "resilience.tasks.ai_logs_purge",
        "schedule": 24 * 60 * 60,
    },
    "queue-drain": {
        "task": "resilience.tasks.queue_drain",
        "schedule": QUEUE_DRAIN_INTERVAL,
        "options": {"expires": QUEUE_DRAIN_INTERVAL},  # a late drain is replaced by the next
    },
    "degradation-evaluate": {
        "task": "resilience.tasks.degradation_evaluate",
        "schedule": DEGRADATION_EVAL_INTERVAL,
        "options": {"expires": DEGRADATION_EVAL_INTERVAL},  # a backlog of stale evaluations is useless
    },
}

# Languages: the product speaks Spanish first; English is available.
LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español"), ("en", "English")]
# The admin's own texts in Spanish (written in English); the compiled .mo is committed beside its .po.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", default="Europe/Madrid")
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # Press photos (presskit.photos): copied here through the `storage` breaker; while it is down
    # the copy waits in the queue. By default a folder in the data directory, served by the app
    # at /media/photos/ (presskit.views.photo_file). Operators may name any Django storage:
    # e.g. an S3-compatible store with django-storages (install it yourself, it is not a
    # dependency): PHOTO_STORAGE_BACKEND=storages.backends.s3.S3Storage and
    # PHOTO_STORAGE_OPTIONS='{"bucket_name": "presskit-photos", "endpoint_url": "https://…"}'.
    "photos": {
        "BACKEND": env("PHOTO_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("PHOTO_STORAGE_OPTIONS", default={
            "location": str(DATA_DIR / "media" / "photos"), "base_url": "/media/photos/"}),
    },
}
# The site's address as bookers reach it, printed on the PDF one-sheet (the page itself uses the
# address it was asked on).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://localhost:8000")
# The day the published pages take as today ("YYYY-MM-DD"; empty: the real one), so tests and
# operators can see which dates a page shows on another day (presskit.clock).
PRESSKIT_TODAY = env("PRESSKIT_TODAY", default="")
# What a published version exports (presskit.exports): its snapshot, served when the database
# cannot answer, and its PDF. A folder of the data directory by default; every Daphne and worker
# must see the same one (compose shares the data volume), or name a shared Django storage.
STORAGES["exports"] = {
    "BACKEND": env("EXPORT_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
    "OPTIONS": env.json("EXPORT_STORAGE_OPTIONS", default={"location": str(DATA_DIR / "exports")}),
}
# An uploaded photo is first written here (local disk), so nothing is lost while the photo
# storage is down; the queued copy removes it once the photo is stored.
PHOTO_STAGING_DIR = Path(env("PHOTO_STAGING_DIR", default=str(DATA_DIR / "uploads")))
# The biggest photo taken, in bytes. Django keeps no limit on file parts of a form (its
# DATA_UPLOAD_MAX_MEMORY_SIZE leaves files out); the upload view stops reading a bigger photo
# and says so. Uploads above FILE_UPLOAD_MAX_MEMORY_SIZE are spooled to a temporary file. A proxy
# in front (nginx `client_max_body_size`) must allow a little more than this.
PHOTO_MAX_BYTES = env.int("PHOTO_MAX_BYTES", default=8 * 1024 * 1024)
# The most pixels (width × height) a photo may have, read from its header before it is decoded:
# a few hundred KB of PNG can hold 400 million pixels. 40 million is more than a camera photo
# that fits in PHOTO_MAX_BYTES has (24–36 MP), and bounds what the request spends decoding and
# encoding it again: at 40 MP about 0.5–2.5 s and 160–270 MB for a JPEG or PNG, up to 700 MB for
# a WebP. Pillow's own bomb limit (Image.MAX_IMAGE_PIXELS, about 89 MP) caps it.
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=40_000_000)
# Photos decoded at once per process (each near the limit holds hundreds of MB), and how long an
# upload waits for a turn before the artist is told to try again (503).
PHOTO_DECODES_AT_ONCE = env.int("PHOTO_DECODES_AT_ONCE", default=2)
PHOTO_DECODE_WAIT = env.float("PHOTO_DECODE_WAIT", default=10.0)
# Press photos a presskit may hold (each with its credit, in the artist's order): enough for a
# festival's choice of portrait, live and landscape shots, and a "Descargar todo" ZIP that stays small.
PHOTOS_PER_PRESSKIT = env.int("PHOTOS_PER_PRESSKIT", default=8)
# The biggest tech rider PDF taken, in megabytes (presskit.riders): read while the body streams,
# like the photo.
RIDER_MAX_MB = env.int("RIDER_MAX_MB", default=5)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, said here: bigger parts go to disk
# Request bodies (presskit.body_limit): anything bigger than its route's limit is answered 413
# before it is parsed. The chat's forms and the admin need little; the photo upload a photo and
# its form. The proxy in front (deploy/nginx.conf) must allow the largest of these.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=256 * 1024)
REQUEST_BODY_LIMITS = {"/photo": PHOTO_MAX_BYTES + 64 * 1024, "/rider": RIDER_MAX_MB * 1024 * 1024 + 64 * 1024}

# The chat.
CHAT_MAX_FRAME_BYTES = env.int("CHAT_MAX_FRAME_BYTES", default=16 * 1024)
# The longest message an artist may send, on every door (socket, form, edit in the review): the
# longest answer (the story) is 2,000 characters. The page's maxlength is the same.
CHAT_MESSAGE_MAX_CHARS = env.int("CHAT_MESSAGE_MAX_CHARS", default=2000)
# Limits on one chat and one client (chat.throttle), counted in Redis across processes. Windows
# in the `limits` notation ("5/10seconds;20/minute": a burst of 5, then one every 3 s); empty:
# none. An artist takes longer than that to type an answer; a script sending forty at once gets
# "más despacio" (bench/flood.py).
CHAT_TURN_LIMITS = _rate_limits(env("CHAT_TURN_LIMITS", default="5/10seconds;20/minute"))
# Chats one client may start (a page load without one starts one): a shared venue or school
# network is one client, hence room for many artists.
CLIENT_CHATS_LIMIT = _rate_limits(env("CLIENT_CHATS_LIMIT", default="60/hour"))
CLIENT_SOCKETS_MAX = env.int("CLIENT_SOCKETS_MAX", default=30)  # chat sockets open at once per client
# Load shedding (resilience.overload): when this process's event loop runs LOAD_SHED_LAG_MS late, or
# its chat database work waits that long for a thread (smoothed, timed every
# LOAD_SHED_SAMPLE_SECONDS), new chats are refused politely — the chat page answers 503 with
# Retry-After: LOAD_SHED_RETRY_AFTER, a new socket closes with 4013 — while the chats already open
# go on. 0 turns it off.
LOAD_SHED_LAG_MS = env.float("LOAD_SHED_LAG_MS", default=500.0)
LOAD_SHED_SAMPLE_SECONDS = env.float("LOAD_SHED_SAMPLE_SECONDS", default=0.1)
LOAD_SHED_RETRY_AFTER = env.int("LOAD_SHED_RETRY_AFTER", default=10)
# The header a proxy we run puts the client's address in (deploy/nginx.conf: X-Real-IP), believed
# only from the proxies' own addresses (CIDRs): anyone can send the header. Empty: REMOTE_ADDR.
CLIENT_IP_HEADER = env("CLIENT_IP_HEADER", default="")
CLIENT_IP_TRUSTED_PROXIES = _networks(env.list("CLIENT_IP_TRUSTED_PROXIES", default=[]))
CHAT_TEMPLATE_TOKEN_DELAY = env.float("CHAT_TEMPLATE_TOKEN_DELAY", default=0.02)
# A reply streams into its tab at most one frame per CHAT_STREAM_FRAME_SECONDS: its first word at
# once, then the words that came meanwhile together (a frame costs the server far more than a word
# does, and no reader sees 40 ms). 0: a frame per word.
CHAT_STREAM_FRAME_SECONDS = env.float("CHAT_STREAM_FRAME_SECONDS", default=0.04)
# The reply chain. A provider without its key (or URL, for `local`) is left out; the built-in
# template responder is always last. No key anywhere: the chat runs on templates alone.
AI_PROVIDER_CHAIN = env.list("AI_PROVIDER_CHAIN", default=["openai", "anthropic", "local", "template"])
OPENAI_API_KEY = env("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env("OPENAI_BASE_URL", default="")  # empty: the SDK's default
OPENAI_MODEL = env("OPENAI_MODEL", default="gpt-4o-mini")
ANTHROPIC_API_KEY = env("ANTHROPIC_API_KEY", default="")
ANTHROPIC_BASE_URL = env("ANTHROPIC_BASE_URL", default="")
ANTHROPIC_MODEL = env("ANTHROPIC_MODEL", default="claude-3-5-haiku-latest")
LOCAL_LLM_BASE_URL = env("LOCAL_LLM_BASE_URL", default="")  # e.g. http://127.0.0.1:11434/v1 (Ollama)
LOCAL_LLM_MODEL = env("LOCAL_LLM_MODEL", default="llama3.1")
LOCAL_LLM_API_KEY = env("LOCAL_LLM_API_KEY", default="")
AI_FIRST_TOKEN_TIMEOUT = env.float("AI_FIRST_TOKEN_TIMEOUT", default=2.5)
# Seconds between two tokens of a reply that has started: a stream silent this long is given up
# and the next provider answers (a model streams several tokens a second; a pause of 2 s is a
# stall the artist would watch frozen).
AI_STREAM_IDLE_TIMEOUT = env.float("AI_STREAM_IDLE_TIMEOUT", default=2.0)
AI_MAX_TOKENS = env.int("AI_MAX_TOKENS", default=300)
# The one-liner, the short (~50 words) and the long (~200 words) bio are one reply: room for all three.
AI_BIO_MAX_TOKENS = env.int("AI_BIO_MAX_TOKENS", default=900)
AI_REPLY_CACHE_TTL = env.int("AI_REPLY_CACHE_TTL", default=7 * 24 * 60 * 60)
# The AI request log (resilience app): days a logged request is kept before the daily purge.
AI_LOG_RETENTION_DAYS = env.int("AI_LOG_RETENTION_DAYS", default=30)

# Beat's every-few-seconds tasks log their runs at DEBUG unless this is on (presskit/celery.py).
LOG_ROUTINE_TASKS = env.bool("LOG_ROUTINE_TASKS", default=False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # WeasyPrint logs every rendering step at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}, "weasyprint.progress": {"level": "WARNING"}},
}
