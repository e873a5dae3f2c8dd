"""Writes of the presskit's own: publishing a version, taking the page down, whether search
engines are invited to it, the private edit link.

Publishing freezes the draft as the next numbered version (its document, presskit.documents),
makes it the public one, and queues its exports in the same transaction: the snapshot outside
the database and the PDF (job `presskit.version_export`, presskit.exports). Edits change only
the draft; the page changes when the artist publishes again. The slug is made once, at the first
publish, and never changes (links already sent keep working).
"""
from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from presskit.documents import version_document
from presskit.exports import export_job_request, snapshot_remove_later
from presskit.models import EditLink, Presskit, PresskitVersion
from presskit.photos import photo_documents
from presskit.riders import rider_freeze
from resilience.queue import job_enqueue

SLUG_BASE_MAX = 40
SLUG_SUFFIX_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
SLUG_SUFFIX_LENGTH = 4
EDIT_TOKEN_BYTES = 16  # 128 bits


class PublishRefused(Exception):
    """The presskit cannot be published now; `code` names the artist's message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _slug_new(artist_name: str) -> str:
    base = slugify(artist_name)[:SLUG_BASE_MAX].strip("-") or "artista"
    while True:
        suffix = "".join(secrets.choice(SLUG_SUFFIX_ALPHABET) for _ in range(SLUG_SUFFIX_LENGTH))
        slug = f"{base}-{suffix}"
        if not Presskit.objects.filter(slug=slug).exists():
            return slug


def presskit_publish(*, presskit_id: str, language: str) -> PresskitVersion:
    """The draft as the next version, public from now on. Raises PublishRefused."""
    with transaction.atomic():
        presskit = Presskit.objects.select_for_update().get(pk=presskit_id)
        if presskit.taken_down_at is not None:
            raise PublishRefused("taken_down")
        if not (presskit.artist_name and presskit.short_bio and presskit.booking_email and presskit.genres):
            raise PublishRefused("incomplete")
        if not presskit.slug:
            presskit.slug = _slug_new(presskit.artist_name)
        number = (presskit.versions.aggregate(last=Max("number"))["last"] or 0) + 1
        photos = list(presskit.photos.all())
        document = version_document(presskit, number=number, language=language, photos=photo_documents(photos))
        if presskit.rider_pdf_name and not rider_freeze(presskit, document):
            document["rider"]["pdf"] = None  # the draft's file is gone: published without it
        version = PresskitVersion.objects.create(
            presskit=presskit, number=number, document=document,
            photo_names=[photo.name for photo in photos if photo.name],
            rider_source=presskit.rider_pdf_name if document["rider"]["pdf"] else "")
        presskit.published_version = version
        presskit.save(update_fields=["slug", "published_version", "updated_at"])
        job_enqueue(export_job_request(version))
    return version


def presskit_unpublish(*, presskit_id: str) -> bool:
    """Take the public page down (the versions are kept). False when it was not public."""
    with transaction.atomic():
        presskit = Presskit.objects.select_for_update().get(pk=presskit_id)
        if presskit.published_version_id is None:
            return False
        presskit.published_version = None
        presskit.save(update_fields=["published_version", "updated_at"])
        snapshot_remove_later(presskit.slug)
    return True


def presskit_listed_set(*, presskit_id: str, listed: bool) -> Presskit:
    """Invite search engines to the page or not (the sitemap, `noindex`). Works before the first
    publish too: the choice then applies when the page goes public. Raises PublishRefused."""
    with transaction.atomic():
        presskit = Presskit.objects.select_for_update().get(pk=presskit_id)
        if presskit.taken_down_at is not None:
            raise PublishRefused("taken_down")
        presskit.listed = listed
        presskit.save(update_fields=["listed", "updated_at"])
    return presskit


def presskit_take_down(*, presskit_id: str, reason: str) -> None:
    """Staff take a page down for abuse: unpublished, and the artist cannot publish it again
    until staff restore it. The admin logs who did it and why."""
    with transaction.atomic():
        presskit = Presskit.objects.select_for_update().get(pk=presskit_id)
        presskit.published_version = None
        presskit.taken_down_at = timezone.now()
        presskit.takedown_reason = reason
        presskit.save(update_fields=["published_version", "taken_down_at", "takedown_reason", "updated_at"])
        if presskit.slug:
            snapshot_remove_later(presskit.slug)


def presskit_restore(*, presskit_id: str) -> None:
    """Staff lift a takedown: the artist may publish again (nothing is published by this)."""
    Presskit.objects.filter(pk=presskit_id).update(taken_down_at=None, takedown_reason="", updated_at=timezone.now())


def edit_token_hash(token: str) -> str:
    # 128 random bits need no salt nor a slow hash: nothing about them can be guessed.
    return hashlib.sha256(token.encode()).hexdigest()


def edit_link_create(*, presskit_id: str) -> str:
    """A new private edit link's token (shown once: only its hash is kept); any earlier link
    of the presskit stops working."""
    token = secrets.token_urlsafe(EDIT_TOKEN_BYTES)
    with transaction.atomic():
        edit_link_revoke(presskit_id=presskit_id)
        EditLink.objects.create(presskit_id=presskit_id, token_hash=edit_token_hash(token))
    return token


def edit_link_use(*, token: str) -> Presskit | None:
    """The presskit a live edit link opens, its use recorded (None for a wrong, revoked or
    malformed token)."""
    link = EditLink.objects.select_related("presskit").filter(
        token_hash=edit_token_hash(token), revoked_at__isnull=True).first()
    if link is None:
        return None
    EditLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
    return link.presskit


def edit_link_revoke(*, presskit_id: str) -> int:
    return EditLink.objects.filter(presskit_id=presskit_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
