"""The presskit: the artist's data, filled in step by step by the chat."""
from __future__ import annotations

import uuid

from django.core.files.storage import storages
from django.db import models


class BioSource(models.TextChoices):
    TEMPLATE = "template", "plantilla"
    AI = "ai", "IA"


BIO_FIELDS = ("short_bio", "long_bio", "bio_source", "bio_answers_hash")


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
    short_bio = models.TextField(blank=True)
    long_bio = models.TextField(blank=True)
    bio_source = models.CharField(max_length=16, choices=BioSource.choices, blank=True)
    bio_answers_hash = models.CharField(max_length=64, blank=True)  # the answers it was written from
    # The press photo: its name in the photo storage once stored there; until then the upload
    # waits in the local staging folder (`photo_staged`) and a queued job moves it.
    photo_name = models.CharField(max_length=255, blank=True)
    photo_staged = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.artist_name or f"Presskit {str(self.id)[:8]}"

    @property
    def photo_url(self) -> str:
        """Where a browser gets the stored photo ("" when none is stored yet)."""
        return storages["photos"].url(self.photo_name) if self.photo_name else ""


class Integration(models.Model):
    """An external service every finished presskit is sent to (a booking agent's or a mailing
    list's webhook). Staff manage them in the admin; each has its own breaker,
    `integration:<name>`, and a failing one is skipped and its sends queued (presskit.integrations)."""

    name = models.SlugField(max_length=50, unique=True, help_text="Short name; its breaker is integration:<name>.")
    label = models.CharField(max_length=100)
    url = models.URLField(help_text="The webhook: receives a POST with the presskit as JSON.")
    secret = models.CharField(max_length=200, blank=True,
                              help_text="Signs each body (HMAC-SHA256, header X-Presskit-Signature).")
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
