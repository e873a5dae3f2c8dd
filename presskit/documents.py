"""The published presskit as data: the document a version freezes, the JSON export serves, the
public page and the PDF render, and the snapshot keeps outside the database.

Its shape is described by `presskit/schemas/presskit.schema.json` (SCHEMA_VERSION inside each
document). Links are classified here once (Instagram, SoundCloud, Spotify, YouTube, Bandcamp,
web), handles become URLs, and only http(s) URLs ever become links.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils import timezone

from presskit import clock
from presskit.models import Presskit
from presskit.players import player_of

# 2: the player, the bio's one-liner, shows, quotes, sounds like, rider; 3: several photos with credits.
SCHEMA_VERSION = 3
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "presskit.schema.json"


@dataclass(frozen=True)
class LinkKind:
    kind: str
    label: str
    hosts: tuple[str, ...]  # a link is of this kind when its host is one of these or below one


LINK_KINDS = (
    LinkKind("instagram", "Instagram", ("instagram.com",)),
    LinkKind("soundcloud", "SoundCloud", ("soundcloud.com",)),
    LinkKind("spotify", "Spotify", ("spotify.com", "spotify.link")),
    LinkKind("youtube", "YouTube", ("youtube.com", "youtu.be")),
    LinkKind("bandcamp", "Bandcamp", ("bandcamp.com",)),
)
WEB = LinkKind("web", "Web", ())
# A bare @handle names an Instagram account: the platform artists give handles for first.
HANDLE_URL = "https://www.instagram.com/{handle}/"


def link_of(value: str) -> dict[str, str] | None:
    """A link as the page shows it, or None for anything that is not an http(s) URL or a handle."""
    if value.startswith("@"):
        handle = value[1:]
        return {"kind": "instagram", "label": "Instagram", "url": HANDLE_URL.format(handle=handle),
                "text": value}
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    kind = next((kind for kind in LINK_KINDS
                 if any(host == known or host.endswith(f".{known}") for known in kind.hosts)), WEB)
    text = (host.removeprefix("www.") + parts.path.rstrip("/"))[:80]
    return {"kind": kind.kind, "label": kind.label, "url": value, "text": text}


def version_document(presskit: Presskit, *, number: int, language: str, photos: list[dict]) -> dict[str, Any]:
    """What version `number` of the presskit publishes, as plain JSON-ready data."""
    links = [link for link in (link_of(value) for value in presskit.links) if link is not None]
    return {
        "schema_version": SCHEMA_VERSION,
        "slug": presskit.slug,
        "version": number,
        "published_at": timezone.now().isoformat(timespec="seconds"),
        "language": language,
        "artist": {
            "name": presskit.artist_name,
            "genres": list(presskit.genres),
            "experience": presskit.experience,
            "location": presskit.location,
            "story": presskit.story,
        },
        "bio": {"one_liner": presskit.one_liner, "short": presskit.short_bio, "long": presskit.long_bio,
                "source": presskit.bio_source,
                # The bios in the page's other languages; which bios they were made from is the draft's concern.
                "translations": {language: {key: translation[key] for key in ("one_liner", "short", "long")}
                                 for language, translation in presskit.bio_translations.items()}},
        "links": links,
        "player": (player.as_dict() if (player := player_of(links, presskit.player_link)) else None),
        "booking_email": presskit.booking_email,
        "photos": photos,
        # All the draft's dates (by date, Show.Meta), past ones too: `served` leaves those out.
        "shows": [{"date": show.date.isoformat(), "venue": show.venue, "city": show.city,
                   "url": show.url if _is_http(show.url) else ""} for show in presskit.shows.all()],
        "quotes": [{"text": quote.text, "source": quote.source} for quote in presskit.quotes.all()],
        "sounds_like": presskit.sounds_like,
        "rider": {"text": presskit.rider_text,
                  "pdf": reverse("public_rider", args=[presskit.slug]) if presskit.rider_pdf_name else None},
    }


def _is_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def document_photos(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A version's photos in order, each with its credit; versions from before schema 3 held one
    photo (or none), without a credit."""
    if "photos" in document:
        return document["photos"]
    return [{**document["photo"], "credit": ""}] if document.get("photo") else []


def served(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the page, the PDF and the JSON serve it today (presskit.clock): without the
    shows already past. The version keeps them all; documents from before shows had none."""
    if "shows" not in document:
        return document
    today = clock.today().isoformat()  # ISO dates compare as strings
    return {**document, "shows": [show for show in document["shows"] if show["date"] >= today]}


def document_content(document: dict[str, Any]) -> dict[str, Any]:
    """What an artist can change: a document without its version and time (to tell whether
    the draft differs from what is public)."""
    return {key: value for key, value in document.items() if key not in ("version", "published_at")}


def json_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())
