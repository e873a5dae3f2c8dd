"""The press photo: a browser that owns its chat, a photo storage and staging folder of the
test's own, and a way to take the storage down for real (its folder made impossible)."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.models import ChatSession
from presskit.models import Presskit, PressPhoto
from tests.presskit.images import png_bytes

HTMX = {"HX-Request": "true"}


@dataclass
class Browser:
    """A browser that opened the chat page (so it owns its chat)."""

    client: Client
    chat_id: str

    def upload(self, data: bytes, *, name: str = "foto.png", content_type: str = "image/png",
               htmx: bool = False, chat_id: str | None = None, credit: str = ""):
        form = {"session": chat_id or self.chat_id, "photo": SimpleUploadedFile(name, data, content_type=content_type),
                "credit": credit}
        return self.client.post("/photo", form, headers=HTMX if htmx else {})

    @property
    def presskit(self) -> Presskit:
        return ChatSession.objects.select_related("presskit").get(pk=self.chat_id).presskit

    @property
    def photos(self) -> list[PressPhoto]:
        """The draft's photos, in the artist's order."""
        return list(self.presskit.photos.all())

    @property
    def photo(self) -> PressPhoto:
        """The draft's only photo."""
        (photo,) = self.photos
        return photo


def open_chat(client: Client) -> Browser:
    page = client.get("/").content.decode()
    return Browser(client, re.search(r'ws-connect="/ws/chat/([0-9a-f-]+)/"', page).group(1))


@dataclass
class PhotoPlaces:
    storage: Path  # the photo storage's folder
    staging: Path
    blocker: Path  # a regular file: a storage folder "under" it cannot exist

    def stored_files(self) -> list[Path]:
        return sorted(path for path in self.storage.rglob("*") if path.is_file()) if self.storage.exists() else []

    def staged_files(self) -> list[Path]:
        return sorted(self.staging.iterdir()) if self.staging.exists() else []


def _photo_storage(settings, location: Path) -> None:
    # A new STORAGES value (not a change inside it): Django then forgets its storage instances.
    settings.STORAGES = {**settings.STORAGES, "photos": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(location), "base_url": "/media/photos/"}}}


@pytest.fixture
def places(settings, tmp_path) -> PhotoPlaces:
    """Fresh breakers, a photo storage and a staging folder of this test's own; failed copies
    due again almost at once (so a test can run them without waiting for the backoff)."""
    settings.RESILIENCE_KEY_PREFIX = f"test-photo-{uuid.uuid4().hex[:10]}"
    settings.QUEUE_BACKOFF_BASE = 0.01
    settings.QUEUE_BACKOFF_MAX = 0.01
    settings.QUEUE_DRAIN_INTERVAL = 0.01  # how long a job refused by the breaker waits
    settings.PHOTO_STAGING_DIR = tmp_path / "uploads"
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the storage's folder should be")
    _photo_storage(settings, tmp_path / "photos")
    return PhotoPlaces(storage=tmp_path / "photos", staging=tmp_path / "uploads", blocker=blocker)


@dataclass
class Outage:
    settings: object
    places: PhotoPlaces

    def restore(self) -> None:
        _photo_storage(self.settings, self.places.storage)


@pytest.fixture
def storage_down(settings, places) -> Outage:
    """The photo storage fails for real: its folder would be inside a regular file (an OSError
    even as root). `restore()` brings it back."""
    _photo_storage(settings, places.blocker / "photos")
    return Outage(settings, places)


@pytest.fixture
def browser(transactional_db, places) -> Browser:
    return open_chat(Client())


@pytest.fixture
def png() -> bytes:
    return png_bytes()
