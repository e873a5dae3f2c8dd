"""The presskit: the artist's data, filled in step by step by the chat."""
from __future__ import annotations

import uuid

from django.db import models


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.artist_name or f"Presskit {str(self.id)[:8]}"
