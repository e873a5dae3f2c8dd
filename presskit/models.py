"""The presskit: the artist's data, filled in step by step by the chat."""
from __future__ import annotations

import uuid

from django.core.files.storage import storages
from django.db import models

from presskit.webhooks import webhook_url_validate


class BioSource(models.TextChoices):
    TEMPLATE = "template", "plantilla"
    AI = "ai", "IA"


PHOTO_CREDIT_MAX_CHARS = 120

BIO_FIELDS = ("one_liner", "short_bio", "long_bio", "bio_source", "bio_answers_hash", "bio_translations")


class Presskit(models.Model):
    """An artist's presskit draft. Each field is one chat step's validated answer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    artist_name = models.CharField(max_length=50, blank=True)
    genres = models.JSONField(default=list, blank=True)
    experience = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    story = models.TextField(max_length=2000, blank=True)
    links = models.JSONField(default=list, blank=True)
    booking_email = models.EmailField(blank=True)
    # Written after the seventh answer: by an AI provider, or from templates when none was
    # available (an AI bio is then queued and replaces it when ready).
    one_liner = models.TextField(blank=True)  # ~15 words, for festival programmes
    short_bio = models.TextField(blank=True)
    long_bio = models.TextField(blank=True)
    bio_source = models.CharField(max_length=16, choices=BioSource.choices, blank=True)
    bio_answers_hash = models.CharField(max_length=64, blank=True)  # the answers it was written from
    # The bios in the page's other languages, written by AI after them (chat.bios):
    # {"en": {"one_liner", "short", "long", "source_hash"}}, source_hash naming the bios translated.
    bio_translations = models.JSONField(default=dict, blank=True)
    # Optional sections, offered once the seven steps are done (none blocks publishing): who the
    # artist sounds like, and their tech rider as text. Dates and press quotes are rows of their own.
    sounds_like = models.CharField(max_length=200, blank=True)
    rider_text = models.TextField(max_length=5000, blank=True)
    # The link whose player the page shows (one of `links`); empty: the first that can play.
    player_link = models.CharField(max_length=500, blank=True)
    rider_pdf_name = models.CharField(max_length=255, blank=True)  # in the exports storage (presskit.riders)
    # Publishing (presskit.services): the page is /p/<slug>/, the slug made at the first publish
    # and kept; `published_version` is the public one (None: not public). Staff may take a page
    # down for abuse: then it cannot be published again until they restore it.
    slug = models.SlugField(max_length=64, unique=True, null=True, blank=True, editable=False)
    published_version = models.OneToOneField("PresskitVersion", null=True, blank=True, editable=False,
                                             on_delete=models.SET_NULL, related_name="+")
    taken_down_at = models.DateTimeField(null=True, blank=True, editable=False)
    takedown_reason = models.CharField(max_length=500, blank=True, editable=False)
    # Whether search engines are invited to the page (sitemap.xml, no `noindex`). Off until the
    # artist says so: a link sent to a promoter must not make them findable by name on the web.
    listed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.artist_name or f"Presskit {str(self.id)[:8]}"


class PressPhoto(models.Model):
    """One of the presskit's press photos, in the artist's order (presskit.photos). Its name in
    the photo storage once stored there, with the widths of its resized copies; until then the
    upload waits in the local staging folder (`staged`) and a queued job moves it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    presskit = models.ForeignKey(Presskit, on_delete=models.CASCADE, related_name="photos")
    position = models.PositiveIntegerField(default=0)
    credit = models.CharField(max_length=PHOTO_CREDIT_MAX_CHARS, blank=True)  # the photographer, as the artist wrote it
    name = models.CharField(max_length=255, blank=True)
    staged = models.CharField(max_length=255, blank=True)
    widths = models.JSONField(default=list, blank=True)  # of the resized copies stored, narrowest first
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return f"{self.presskit} · {self.position + 1}"

    @property
    def url(self) -> str:
        """Where a browser gets the stored photo ("" while it is not stored yet)."""
        return storages["photos"].url(self.name) if self.name else ""


class PresskitVersion(models.Model):
    """What was public when: the draft as it was published, numbered from 1. Never changed
    afterwards (but for its PDF's name once the export job has made it)."""

    presskit = models.ForeignKey(Presskit, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    document = models.JSONField()  # presskit.documents: what the page, the JSON and the PDF show
    photo_names = models.JSONField(default=list, blank=True)  # the photos as published, in order (kept while used)
    rider_source = models.CharField(max_length=255, blank=True)  # the draft's rider PDF it was copied from
    pdf_name = models.CharField(max_length=255, blank=True)  # in the exports storage, once rendered
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["presskit", "-number"]
        constraints = [models.UniqueConstraint(fields=["presskit", "number"], name="presskit_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.presskit} · v{self.number}"


class EditLink(models.Model):
    """A private edit link, /e/<token>/: whoever opens it may edit the presskit from that browser.
    Only the token's SHA-256 is kept; a new link revokes the older ones."""

    presskit = models.ForeignKey(Presskit, on_delete=models.CASCADE, related_name="edit_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.presskit} · {'revocado' if self.revoked_at else 'activo'}"


class Integration(models.Model):
    """An external service every finished presskit is sent to (a booking agent's or a mailing
    list's webhook). Staff manage them in the admin; each has its own breaker,
    `integration:<name>`, and a failing one is skipped and its sends queued (presskit.integrations)."""

    name = models.SlugField(max_length=50, unique=True, help_text="Short name; its breaker is integration:<name>.")
    label = models.CharField(max_length=100)
    url = models.URLField(validators=[webhook_url_validate], help_text=(
        "The webhook: receives a POST with the presskit as JSON. Public http(s) addresses only, unless "
        "its network is in INTEGRATION_ALLOWED_NETWORKS."))
    # Signs each body (presskit.webhooks); sealed, never shown back: staff set or rotate it.
    secret_sealed = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label or self.name

    @property
    def dependency(self) -> str:
        return f"integration:{self.name}"


class DailyCount(models.Model):
    """How often a published version was viewed, played, downloaded or had a link followed on one
    day (presskit.stats): a number, nothing about who."""

    class Event(models.TextChoices):
        VIEW = "view", "visitas"
        PLAY = "play", "escuchas"
        PDF = "pdf", "descargas del PDF"
        ZIP = "zip", "descargas del ZIP"
        LINK = "link", "clics en enlaces"

    version = models.ForeignKey(PresskitVersion, on_delete=models.CASCADE, related_name="daily_counts")
    day = models.DateField()
    event = models.CharField(max_length=8, choices=Event.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "version", "event"]
        constraints = [models.UniqueConstraint(fields=["version", "day", "event"], name="daily_count_unique")]

    def __str__(self) -> str:
        return f"{self.version} · {self.day} · {self.event}: {self.count}"


class CountsBatch(models.Model):
    """A batch of counts moved from Redis (presskit.stats.stats_flush): written once only."""

    id = models.CharField(primary_key=True, max_length=32)
    flushed_at = models.DateTimeField(auto_now_add=True)


class Show(models.Model):
    """An upcoming date: it leaves the page by itself once past (presskit.documents)."""

    presskit = models.ForeignKey(Presskit, on_delete=models.CASCADE, related_name="shows")
    date = models.DateField()
    venue = models.CharField(max_length=120)
    city = models.CharField(max_length=80)
    url = models.URLField(max_length=500, blank=True)  # tickets or the event's page

    class Meta:
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.date} · {self.venue}, {self.city}"


class PressQuote(models.Model):
    """A line the press wrote about the artist, and who wrote it."""

    presskit = models.ForeignKey(Presskit, on_delete=models.CASCADE, related_name="quotes")
    text = models.CharField(max_length=400)
    source = models.CharField(max_length=120)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"«{self.text[:40]}» — {self.source}"
