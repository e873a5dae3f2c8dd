"""Reads of the presskit's own: what is public at a slug, and which presskit an edit link opens."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError
from django.urls import reverse

from presskit.documents import document_content, document_photos, version_document
from presskit.exports import snapshot_read
from presskit.models import EditLink, Presskit, PresskitVersion
from resilience.breakers import CircuitOpenError, get_breaker

logger = logging.getLogger(__name__)

DATABASE_BREAKER = "database"


class NotPublished(LookupError):
    """Nothing is public at this slug (never published, unpublished, taken down, or unknown)."""


@dataclass(frozen=True)
class PublicPresskit:
    document: dict
    photo_names: list[str]  # the published photos in the photo storage, in order (none known from the snapshot)
    from_snapshot: bool  # served while the database could not answer
    # Search engines invited. The snapshot does not know: then not, so an outage never exposes
    # an unlisted page (a listed one misses at most the crawls made meanwhile).
    listed: bool = False


def public_presskit_get(*, slug: str) -> PublicPresskit:
    """The public version at `slug`, from the database through its breaker; from the snapshot
    when the database cannot answer or its breaker is open (MINIMAL: existing presskits stay
    viewable, at once rather than after a timeout per request). Raises NotPublished."""

    def from_database() -> PublicPresskit | None:
        presskit = (Presskit.objects.select_related("published_version")
                    .filter(slug=slug, taken_down_at=None, published_version__isnull=False).first())
        if presskit is None:
            return None
        version = presskit.published_version
        return PublicPresskit(version.document, version.photo_names, from_snapshot=False, listed=presskit.listed)

    def from_snapshot(error: BaseException) -> PublicPresskit | None:
        if not isinstance(error, (DatabaseError, CircuitOpenError)):
            raise error
        logger.warning("public page %s from its snapshot: database unavailable (%s)", slug, type(error).__name__)
        document = snapshot_read(slug)
        return None if document is None else PublicPresskit(document, photo_names=[], from_snapshot=True)

    public = get_breaker(DATABASE_BREAKER).call_sync(from_database, fallback=from_snapshot)
    if public is None:
        raise NotPublished(slug)
    return public


@dataclass(frozen=True)
class Publication:
    """Where a presskit stands with its public page, for the artist's panel."""

    slug: str | None
    version_number: int | None  # the public version (None: not public)
    published_at: datetime | None
    changed: bool  # the draft differs from what is public
    taken_down: bool
    ever_published: bool


def publication_of(presskit: Presskit, *, language: str) -> Publication:
    public = presskit.published_version
    changed = False
    if public is not None:  # compared without asking the photo storage (this runs on every turn)
        draft = version_document(presskit, number=public.number, language=language, photos=[])
        changed = (_comparable(draft) != _comparable(public.document)
                   or presskit.rider_pdf_name != public.rider_source or _photos_changed(presskit, public))
    return Publication(
        slug=presskit.slug,
        version_number=public.number if public else None,
        published_at=public.published_at if public else None,
        changed=changed,
        taken_down=presskit.taken_down_at is not None,
        ever_published=bool(presskit.slug),
    )


# Not what the artist wrote: the schema's number, and the photos (compared by name and credit,
# never by address: a storage may sign its addresses anew on every call).
NOT_COMPARED = ("schema_version", "photo", "photos")


def _comparable(document: dict) -> dict:
    return {key: value for key, value in document_content(document).items() if key not in NOT_COMPARED}


def _photos_changed(presskit: Presskit, public: PresskitVersion) -> bool:
    draft = [(photo.name, photo.credit) for photo in presskit.photos.all() if photo.name]
    published = [(name, photo["credit"]) for name, photo in zip(public.photo_names, document_photos(public.document))]
    return draft != published


def dashboard_figures() -> list[dict]:
    """The presskits' figures on the staff status dashboard (RESILIENCE_DASHBOARD_FIGURES)."""
    changelist = reverse("admin:presskit_presskit_changelist")
    return [
        {"key": "public", "label": "Public pages", "value": Presskit.objects.filter(published_version__isnull=False).count(),
         "url": f"{changelist}?published=yes"},
        {"key": "versions", "label": "Versions published", "value": PresskitVersion.objects.count(), "url": ""},
        {"key": "taken_down", "label": "Taken down", "value": Presskit.objects.filter(taken_down_at__isnull=False).count(),
         "url": f"{changelist}?published=down"},
        {"key": "edit_links", "label": "Live private edit links",
         "value": EditLink.objects.filter(revoked_at__isnull=True).count(), "url": ""},
    ]
