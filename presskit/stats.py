"""Honest numbers for the artist: page views, plays, PDF and ZIP downloads and link clicks of each
published version, per day. No cookie, no IP address, nothing about the visitor is kept: a
count is a number in Redis (cheap, and up while the database is not), moved to the database
by beat (`stats_flush`). Known bots and link previews are not counted, and a visitor counts once
per event and version within STATS_REPEAT_WINDOW (a reload, a second download or a flood of
forged beacons adds nothing): what marks them is an HMAC of their address and the event, kept
in Redis for that window only, from which the address cannot be read back.

A flush renames the day's counts to a batch of their own before reading them, so a count that
comes meanwhile starts a new one; the batch is written in one transaction with its id
(`CountsBatch`), so a flush that dies after the commit and is run again adds nothing twice.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from presskit.models import CountsBatch, DailyCount, Presskit, PresskitVersion

logger = logging.getLogger(__name__)

EVENTS = ("view", "play", "pdf", "zip", "link")
# No bot-detection library is in reach (README, "Dependencies"): the signatures of the crawlers
# and link previewers that announce themselves, and of scripts. A bot that hides is counted.
BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|whatsapp|telegram|"
    r"discord|slack|skype|vkshare|pinterest|bitly|lighthouse|headless|python|curl|wget|httpx|"
    r"go-http|java/|okhttp|node-fetch|axios|libwww|scrapy|monitor|uptime|validator",
    re.IGNORECASE,
)


def _prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:stats"


def _day_key(day: date) -> str:
    return f"{_prefix()}:day:{day.isoformat()}"


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(BOT.search(user_agent))


def _seen_key(client: str, field: str) -> str:
    mark = hmac.new(settings.SECRET_KEY.encode(), f"{client}|{field}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{settings.REDIS_KEY_PREFIX}:stats-seen:{mark}"  # beside the counts, never scanned with them


def count(*, slug: str, version: int, event: str, user_agent: str, client: str) -> None:
    """One view, play, download or click of version `version` of the page at `slug`, today, by
    `client` (its address: only an HMAC of it is kept, for STATS_REPEAT_WINDOW). Never raises: a
    page is served whether or not it could be counted."""
    if event not in EVENTS or is_bot(user_agent):
        return
    field = f"{slug}:{version}:{event}"
    try:
        redis = get_redis_connection("default")
        if redis.set(_seen_key(client, field), 1, nx=True, ex=max(1, round(settings.STATS_REPEAT_WINDOW))):
            redis.hincrby(_day_key(timezone.localdate()), field, 1)
    except RedisError as error:
        logger.info("not counted (%s): Redis is away", type(error).__name__)


def _batch_write(batch: str, day: date, counts: dict[bytes, bytes]) -> None:
    with transaction.atomic():
        _, created = CountsBatch.objects.get_or_create(id=batch)
        if not created:
            return  # written by a flush that died before it could forget the batch
        versions: dict[tuple[str, int], PresskitVersion | None] = {}
        for field, value in counts.items():
            slug, number, event = field.decode().rsplit(":", 2)
            key = (slug, int(number))
            if key not in versions:
                versions[key] = PresskitVersion.objects.filter(presskit__slug=slug, number=key[1]).first()
            if versions[key] is None:  # a version deleted since: nothing to count it on
                continue
            row, _ = DailyCount.objects.get_or_create(version=versions[key], day=day, event=event)
            DailyCount.objects.filter(pk=row.pk).update(count=F("count") + int(value))


def stats_flush() -> int:
    """Move every day's counts from Redis to the database (the beat task). Returns how many counts."""
    redis = get_redis_connection("default")
    moved = 0
    for key in redis.scan_iter(f"{_prefix()}:day:*"):
        batch_key = f"{_prefix()}:batch:{key.decode().rsplit(':', 1)[1]}:{uuid.uuid4().hex}"
        try:
            redis.rename(key, batch_key)
        except RedisError:  # flushed by another worker meanwhile
            continue
    for batch_key in redis.scan_iter(f"{_prefix()}:batch:*"):
        _, day_text, batch = batch_key.decode().rsplit(":", 2)
        counts = redis.hgetall(batch_key)
        _batch_write(batch, date.fromisoformat(day_text), counts)
        redis.delete(batch_key)
        moved += sum(int(value) for value in counts.values())
    return moved


@dataclass(frozen=True)
class WeekCounts:
    view: int = 0
    play: int = 0
    pdf: int = 0
    zip: int = 0
    link: int = 0


def week_counts(presskit: Presskit) -> WeekCounts:
    """The last seven days (today included) over every version of the presskit: what is in the
    database, and what waits in Redis for the next flush (not a batch a flush is writing: for
    those few seconds the week looks a little short)."""
    today = timezone.localdate()
    totals = dict.fromkeys(EVENTS, 0)
    rows = (DailyCount.objects.filter(version__presskit=presskit, day__gt=today - timedelta(days=7))
            .values("event").annotate(total=Sum("count")))
    for row in rows:
        totals[row["event"]] += row["total"]
    if presskit.slug:
        # Only this page's fields of each day (a day's hash holds every page's), in one round trip:
        # this runs with every turn of a published chat.
        fields = [(event, f"{presskit.slug}:{number}:{event}")
                  for number in presskit.versions.values_list("number", flat=True) for event in EVENTS]
        try:
            pipe = get_redis_connection("default").pipeline(transaction=False)
            for back in range(7):
                pipe.hmget(_day_key(today - timedelta(days=back)), [field for _, field in fields])
            waiting = pipe.execute() if fields else []
        except RedisError:
            waiting = []
        for values in waiting:
            for (event, _), value in zip(fields, values):
                totals[event] += int(value or 0)
    return WeekCounts(**totals)
