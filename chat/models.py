"""A chat session, its transcript, and where the artist is in the seven steps."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from chat.steps import TOTAL_STEPS
from presskit.models import Presskit

COMPLETE_STEP = TOTAL_STEPS + 1


class ChatSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    presskit = models.OneToOneField(Presskit, on_delete=models.CASCADE, related_name="chat_session")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    # The first step not yet answered; COMPLETE_STEP once all seven are.
    current_step = models.PositiveSmallIntegerField(default=1)
    # An earlier step the artist chose to change; the next answer goes there.
    editing_step = models.PositiveSmallIntegerField(null=True, blank=True)
    # An optional section being added once the seven steps are done (chat.sections): the next
    # answer goes to it.
    section = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(current_step__gte=1, current_step__lte=COMPLETE_STEP),
                name="chat_session_current_step_range",
            ),
            models.CheckConstraint(
                condition=Q(editing_step__isnull=True)
                | Q(editing_step__gte=1, editing_step__lt=models.F("current_step")),
                name="chat_session_editing_step_answered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.presskit} · paso {self.step_in_question}"

    @property
    def is_complete(self) -> bool:
        return self.current_step == COMPLETE_STEP

    @property
    def step_in_question(self) -> int | None:
        """The step the next answer is for, or None when complete and not editing."""
        if self.editing_step is not None:
            return self.editing_step
        return None if self.is_complete else self.current_step


class ChatMessage(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Artista"
        ASSISTANT = "assistant", "Asistente"

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    text = models.TextField()
    provider = models.CharField(max_length=32, blank=True)
    fallback_used = models.BooleanField(default=False)
    # The id of an answer kept during a database outage and applied later: applied once only.
    kept_id = models.CharField(max_length=32, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "id"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()} #{self.pk}"
