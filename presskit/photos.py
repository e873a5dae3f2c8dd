"""The press photo: checked, kept on local disk first, then copied to the photo storage.

An upload is accepted only if its first bytes say JPEG, PNG or WebP (never its name or its
declared content type), it is not empty and not bigger than PHOTO_MAX_BYTES. It is written to
the staging folder (PHOTO_STAGING_DIR) under a random name and the presskit remembers it
(`photo_staged`): from then on nothing is lost. The copy to the photo storage
(STORAGES["photos"]) goes through the `storage` breaker with `execute_with_fallback`; when the
storage fails or its breaker is open the copy waits in the queue (job `presskit.photo_store`,
high priority) and a worker does it once the storage is back. Storing also makes the resized
variants the public page offers (`-w480`, `-w960`, `-w1600` JPEGs, never wider than the photo).

Either way the effect is recorded once, by the job type's `apply`: `photo_name` is set and
`photo_staged` cleared, in the transaction that marks the job done. A newer upload supersedes an
older one still waiting: the older job finds `photo_staged` changed and only cleans up after
itself. Files are removed after the commit, best effort (a leftover file costs disk, not data).
"""
from __future__ import annotations

import io
import logging
import os
import re
import uuid
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from presskit.models import Presskit, PresskitVersion
from presskit.signals import presskit_changed_send
from resilience.fallbacks import FallbackPlan, FallbackResult, execute_with_fallback
from resilience.queue import JobRequest, JobType, Priority, describe_error

logger = logging.getLogger(__name__)

JOB_TYPE = "presskit.photo_store"
DEPENDENCY = "storage"
# What the first bytes of each accepted format look like, and the extension it is kept under.
SIGNATURES = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
HEAD_BYTES = 12  # enough for every signature (WebP: "RIFF", 4 bytes of size, "WEBP")
STORED_NAME = re.compile(r"presskits/[0-9a-f-]{36}/[0-9a-f]{32}(\.(jpg|png|webp)|-w[0-9]{3,4}\.jpg)")
VARIANT_WIDTHS = (480, 960, 1600)  # phones, laptops, retina and the PDF
VARIANT_QUALITY = 82


class PhotoInvalid(ValueError):
    """The upload is not a photo we take. `code` names the artist's message: "empty",
    "too_big" or "type". Nothing has been kept."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PhotoNotKept(Exception):
    """The upload could not even be written to the staging folder (local disk full or
    unwritable): nothing has been kept, the artist must try again."""


def photo_storage() -> Storage:
    return storages["photos"]


def photo_max_mb() -> int:
    """The limit as the artist reads it, in whole megabytes."""
    return max(1, round(settings.PHOTO_MAX_BYTES / (1024 * 1024)))


def photo_kind(head: bytes) -> str | None:
    """The extension for a file starting with `head`, or None when it is not JPEG, PNG or WebP."""
    for signature, extension in SIGNATURES:
        if head.startswith(signature):
            return extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def photo_check(upload: UploadedFile) -> str:
    """Raise PhotoInvalid unless the upload is a photo we take; returns its extension."""
    if not upload.size:
        raise PhotoInvalid("empty")
    if upload.size > settings.PHOTO_MAX_BYTES:
        raise PhotoInvalid("too_big")
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    extension = photo_kind(head)
    if extension is None:
        raise PhotoInvalid("type")
    return extension


class PhotoSizeLimit(FileUploadHandler):
    """An upload handler that stops keeping a file past PHOTO_MAX_BYTES: the file is dropped
    (the form's other fields are still read) and `too_big` says why, so the view answers with a
    clear message instead of spooling an unbounded file to disk. Put it first in
    `request.upload_handlers`, before the request's body is read."""

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.too_big = False
        self._received = 0

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self._received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self._received += len(raw_data)
        if self._received > settings.PHOTO_MAX_BYTES:
            self.too_big = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the uploaded file


# --- Staging ---------------------------------------------------------------------------------------
def staging_path(staged: str) -> Path:
    # `staged` is always a name this module made (uuid hex + extension), never the artist's.
    return Path(settings.PHOTO_STAGING_DIR) / Path(staged).name


def stored_name(payload: dict) -> str:
    """The photo's name in the photo storage: the same for every try of the same upload."""
    return f"presskits/{payload['presskit']}/{payload['staged']}"


def stored_name_valid(name: str) -> bool:
    """Is this a name `stored_name` makes? (Nothing else is ever served from the storage.)"""
    return STORED_NAME.fullmatch(name) is not None


def _stage(upload: UploadedFile, extension: str) -> str:
    """Write the upload to the staging folder, synced to disk; returns its staged name."""
    staged = f"{uuid.uuid4().hex}.{extension}"
    path = staging_path(staged)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as kept:
            kept.writelines(upload.chunks())
            kept.flush()
            os.fsync(kept.fileno())
    except OSError as error:
        path.unlink(missing_ok=True)
        raise PhotoNotKept(describe_error(error)) from error
    return staged


def _remove_staged(staged: str) -> None:
    try:
        staging_path(staged).unlink(missing_ok=True)
    except OSError as error:
        logger.warning("staged photo %s not removed: %s", staged, describe_error(error))


def variant_name(name: str, width: int) -> str:
    return f"{PurePosixPath(name).with_suffix('')}-w{width}.jpg"


def _variants_of(photo: bytes) -> dict[int, bytes]:
    """JPEG copies of the photo at the widths narrower than it, upright (EXIF orientation applied).
    None for a file that starts like a photo but does not decode: it is kept, without variants."""
    try:
        with Image.open(io.BytesIO(photo)) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        logger.warning("photo without variants: %s", describe_error(error))
        return {}
    variants = {}
    for width in VARIANT_WIDTHS:
        if width >= image.width:
            break
        resized = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        resized.save(out, "JPEG", quality=VARIANT_QUALITY, optimize=True, progressive=True)
        variants[width] = out.getvalue()
    return variants


def photo_variants(name: str) -> list[tuple[int, str]]:
    """The stored variants of a stored photo, narrowest first."""
    storage = photo_storage()
    return [(width, variant_name(name, width)) for width in VARIANT_WIDTHS if storage.exists(variant_name(name, width))]


def photo_document(presskit: Presskit) -> dict | None:
    """The stored photo as a published version shows it (presskit.documents)."""
    if not presskit.photo_name:
        return None
    storage = photo_storage()
    return {"url": storage.url(presskit.photo_name),
            "variants": [{"width": width, "url": storage.url(name)} for width, name in photo_variants(presskit.photo_name)]}


def _remove_stored(name: str) -> None:
    """A photo no draft shows any more, with its variants; kept while a version shows it."""
    if PresskitVersion.objects.filter(photo_name=name).exists():
        return
    try:
        storage = photo_storage()
        for doomed in (name, *(variant_name(name, width) for width in VARIANT_WIDTHS)):
            storage.delete(doomed)
    except Exception as error:  # noqa: BLE001 - best effort: a leftover photo costs only space
        logger.warning("stored photo %s not removed: %s", name, describe_error(error))


# --- The job: copy to the photo storage, then record it ---------------------------------------------
def _current_staged(presskit_id: str) -> str | None:
    """The upload the presskit waits for ("" none), or None when the presskit is gone."""
    return Presskit.objects.filter(pk=presskit_id).values_list("photo_staged", flat=True).first()


def photo_store(payload: dict) -> dict:
    """Copy the staged upload to the photo storage under its deterministic name (a repeat
    overwrites the same name). Raises when the storage fails. An upload superseded by a newer
    one, or whose presskit is gone, is not copied."""
    staged = payload["staged"]
    if _current_staged(payload["presskit"]) != staged:
        return {"stored": False}
    name = stored_name(payload)
    storage = photo_storage()
    source = staging_path(staged)
    if not source.exists() and storage.exists(name):
        return {"stored": True, "name": name}  # copied by an earlier try that did not record it
    with open(source, "rb") as photo:
        if storage.exists(name):
            storage.delete(name)  # a half-finished earlier try: the same name, written again
        saved = storage.save(name, File(photo, name=source.name))
        if saved != name:  # another try wrote the same name at the same moment: keep one
            storage.delete(saved)
        photo.seek(0)
        variants = _variants_of(photo.read())
    for width, content in variants.items():
        _store_bytes(variant_name(name, width), content)
    return {"stored": True, "name": name}


def _store_bytes(name: str, content: bytes) -> None:
    storage = photo_storage()
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(content))
    if saved != name:
        storage.delete(saved)


def photo_record(payload: dict, value: dict) -> dict:
    """The job's effect, inside the transaction that marks it done: the presskit shows the new
    photo, unless a newer upload superseded this one (then this one is only cleaned up)."""
    staged = payload["staged"]
    presskit = Presskit.objects.select_for_update().filter(pk=payload["presskit"]).first()
    if presskit is None or presskit.photo_staged != staged or not value.get("stored"):
        transaction.on_commit(lambda: _remove_staged(staged))
        if value.get("stored"):
            transaction.on_commit(lambda: _remove_stored(value["name"]))
        return {"stored": False, "reason": "superseded"}
    previous = presskit.photo_name
    presskit.photo_name = value["name"]
    presskit.photo_staged = ""
    presskit.save(update_fields=["photo_name", "photo_staged", "updated_at"])
    transaction.on_commit(lambda: _remove_staged(staged))
    if previous and previous != value["name"]:
        transaction.on_commit(lambda: _remove_stored(previous))
    if not value.get("shown"):  # stored by a worker: the artist's open pages show it now
        transaction.on_commit(lambda: presskit_changed_send(presskit_id=payload["presskit"]))
    return {"stored": True, "name": value["name"]}


PHOTO_STORE = JobType(name=JOB_TYPE, run=photo_store, apply=photo_record, dependency=DEPENDENCY,
                      priority=Priority.HIGH)


def photo_upload(*, presskit_id: str, upload: UploadedFile) -> FallbackResult:
    """Take the artist's photo: check it (PhotoInvalid), keep it in the staging folder
    (PhotoNotKept), then store it now or queue the copy. The result's `fallback` says which:
    NONE (stored), QUEUED (kept, copied when the storage is back) or FAILED (kept, but its job
    ran out of attempts: staff see it among the dead jobs)."""
    extension = photo_check(upload)
    staged = _stage(upload, extension)
    try:
        found = Presskit.objects.filter(pk=presskit_id).update(photo_staged=staged, updated_at=timezone.now())
    except Exception:
        _remove_staged(staged)
        raise
    if not found:
        _remove_staged(staged)
        raise Presskit.DoesNotExist(presskit_id)
    payload = {"presskit": str(presskit_id), "staged": staged}
    request = JobRequest(JOB_TYPE, payload, idempotency_key=f"photo:{staged}", owner=f"presskit:{presskit_id}")
    # Stored now: the request shows it (with its notice); stored later by a worker: pushed.
    return execute_with_fallback(lambda: {**photo_store(payload), "shown": True}, dependency=DEPENDENCY,
                                 plan=FallbackPlan(queue=request))
