"""The press photos: checked, kept on local disk first, then copied to the photo storage.

A presskit holds up to PHOTOS_PER_PRESSKIT photos (PressPhoto), each with the photographer's
credit, in the artist's order: the first is the page's portrait, all of them are offered for
download one by one and in the "Descargar todo" ZIP.

An upload is accepted only if it is not empty, not bigger than PHOTO_MAX_BYTES and Pillow decodes
it, while the request is handled, as a JPEG, PNG or WebP (never trusting its name or its declared
content type) of at most PHOTO_MAX_PIXELS, counted on its header before any pixel is decoded.
What is kept is never the uploaded file but the picture encoded again in the same format:
upright (its EXIF orientation applied), in sRGB, without any of its metadata (EXIF with GPS,
XMP, ICC profile, comments, text chunks) or anything else the file carried, so a photo that is
also an HTML page comes out as only a photo. It is written to the staging folder
(PHOTO_STAGING_DIR) under a random name and a PressPhoto remembers it (`staged`): from then on
nothing is lost. The copy to the photo storage (STORAGES["photos"]) goes through the `storage`
breaker with `execute_with_fallback`; when the storage fails or its breaker is open the copy
waits in the queue (job `presskit.photo_store`, high priority) and a worker does it once the
storage is back. Storing also makes the resized variants the public page offers (`-w480`,
`-w960`, `-w1600` JPEGs, never wider than the photo).

Either way the effect is recorded once, by the job type's `apply`: the photo's `name` (and its
variants' `widths`) set and `staged` cleared, in the transaction that marks the job done. A
photo taken out while its copy waits leaves the job nothing to record: it only cleans up after
itself. Files are removed after the commit, best effort (a leftover file costs disk, not data),
and never while a published version shows them.
"""
from __future__ import annotations

import io
import logging
import os
import re
import struct
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from presskit.models import Presskit, PresskitVersion, PressPhoto
from presskit.signals import presskit_changed_send
from resilience.fallbacks import FallbackPlan, FallbackResult, execute_with_fallback
from resilience.queue import JobRequest, JobType, Priority, describe_error

logger = logging.getLogger(__name__)

JOB_TYPE = "presskit.photo_store"
DEPENDENCY = "storage"
# The formats taken, as Pillow names them: the extension each is kept under, and how it is
# encoded again (quality high enough for a booker's poster; PNG stays lossless).
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
ENCODINGS = {"JPEG": {"quality": 90, "optimize": True}, "PNG": {}, "WEBP": {"quality": 90}}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
SRGB = ImageCms.createProfile("sRGB")
# What Pillow raises for a damaged file: truncated, corrupt pixels, a broken EXIF block.
DAMAGED = (OSError, SyntaxError, ValueError, EOFError, struct.error)
STORED_NAME = re.compile(r"presskits/[0-9a-f-]{36}/[0-9a-f]{32}(\.(jpg|png|webp)|-w[0-9]{3,4}\.jpg)")
VARIANT_WIDTHS = (480, 960, 1600)  # phones, laptops, retina and the PDF
VARIANT_QUALITY = 82


class PhotoInvalid(ValueError):
    """The upload is not a photo we take. `code` names the artist's message: "empty",
    "too_big", "type", "too_many_pixels", "broken", or "too_many" (the presskit holds
    PHOTOS_PER_PRESSKIT already). Nothing has been kept."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PhotoBusy(Exception):
    """PHOTO_DECODES_AT_ONCE photos are being decoded in this process already and none finished
    within PHOTO_DECODE_WAIT seconds: nothing has been kept, the artist may try again."""


class PhotoNotKept(Exception):
    """The upload could not even be written to the staging folder (local disk full or
    unwritable): nothing has been kept, the artist must try again."""


def photo_storage() -> Storage:
    return storages["photos"]


def photo_read(name: str) -> bytes:
    """A stored photo whole (at most PHOTO_MAX_BYTES, encoded again). Raises the storage's errors."""
    with photo_storage().open(name) as photo:
        return photo.read()


def photo_max_mb() -> int:
    """The limit as the artist reads it, in whole megabytes."""
    return max(1, round(settings.PHOTO_MAX_BYTES / (1024 * 1024)))


def photo_max_pixels() -> int:
    """PHOTO_MAX_PIXELS, never above what Pillow itself warns may be a decompression bomb."""
    return min(settings.PHOTO_MAX_PIXELS, Image.MAX_IMAGE_PIXELS or settings.PHOTO_MAX_PIXELS)


def photo_max_megapixels() -> int:
    """The pixel limit as the artist reads it, in whole megapixels."""
    return max(1, round(photo_max_pixels() / 1_000_000))


@dataclass(frozen=True)
class CleanPhoto:
    """An upload encoded again: only its pixels, in the format it came in."""

    content: bytes
    extension: str


_decode_slots: threading.BoundedSemaphore | None = None
_decode_slots_lock = threading.Lock()


def _decoding() -> threading.BoundedSemaphore:
    """The process's decode slots: each decode of a photo near the pixel limit holds hundreds of MB,
    and every upload is handled in a thread of its own."""
    global _decode_slots
    with _decode_slots_lock:
        if _decode_slots is None:
            _decode_slots = threading.BoundedSemaphore(settings.PHOTO_DECODES_AT_ONCE)
        return _decode_slots


def photo_clean(upload: UploadedFile) -> CleanPhoto:
    """Raise PhotoInvalid unless the upload is a photo we take (PhotoBusy when too many are
    being decoded); returns it encoded again."""
    if not upload.size:
        raise PhotoInvalid("empty")
    if upload.size > settings.PHOTO_MAX_BYTES:
        raise PhotoInvalid("too_big")
    slots = _decoding()
    if not slots.acquire(timeout=settings.PHOTO_DECODE_WAIT):
        raise PhotoBusy
    try:
        return _encoded_again(upload)
    finally:
        slots.release()


def _encoded_again(upload: UploadedFile) -> CleanPhoto:
    upload.seek(0)
    with _opened(upload) as image:
        try:
            image.load()  # a truncated or corrupt file fails here, not later in a worker
            kind = "JPEG" if image.format == "MPO" else image.format  # a camera's multi-picture JPEG
            out = io.BytesIO()
            _pixels_only(image, kind).save(out, kind, **ENCODINGS[kind])
        except DAMAGED:
            raise PhotoInvalid("broken") from None
    return CleanPhoto(content=out.getvalue(), extension=EXTENSIONS[kind])


def _opened(upload: UploadedFile) -> Image.Image:
    """The upload opened as one of our formats, of a size within the pixel limit. Nothing is
    decoded yet: Pillow's open reads only the header."""
    try:
        image = Image.open(upload, formats=tuple(EXTENSIONS))
    except UnidentifiedImageError:
        raise PhotoInvalid("type") from None
    except Image.DecompressionBombError:  # Pillow's own guard, at twice its limit
        raise PhotoInvalid("too_many_pixels") from None
    except DAMAGED:  # truncated where its header should be
        raise PhotoInvalid("broken") from None
    if image.width * image.height > photo_max_pixels():
        image.close()
        raise PhotoInvalid("too_many_pixels")
    return image


def _pixels_only(image: Image.Image, kind: str) -> Image.Image:
    """The picture as a browser should draw it, and nothing else: upright, in sRGB (the colour
    space browsers assume without a profile), in RGB, or RGBA when it is transparent and the
    format keeps it (JPEG does not), with none of the file's metadata. The image is changed in
    place where it can be: a 40 MP picture takes 160 MB a copy."""
    ImageOps.exif_transpose(image, in_place=True)
    image = _eight_bit(image)
    mode = "RGBA" if kind != "JPEG" and image.has_transparency_data else "RGB"
    image = _in_srgb(image, mode)
    image.info = {}  # Pillow writes some of `info` (comment, ICC profile, transparency) back
    return image


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit grey PNG scaled to 8 bits: converted as it is, it would clip to white."""
    if image.mode.startswith("I"):
        return image.convert("I").point(lambda value: value / 256).convert("L")
    return image


def _in_srgb(image: Image.Image, mode: str) -> Image.Image:
    """The image in `mode`, its colours moved from its ICC profile (CMYK's above all) to sRGB."""
    icc = image.info.get("icc_profile")
    if icc:
        try:
            return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), SRGB,
                                             outputMode=mode)
        except (OSError, ImageCms.PyCMSError) as error:  # a profile or mode littlecms does not take
            logger.info("photo colours kept as they are: %s", describe_error(error))
    return image if image.mode == mode else image.convert(mode)


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

    def max_bytes(self) -> int:
        return settings.PHOTO_MAX_BYTES

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self._received += len(raw_data)
        if self._received > self.max_bytes():
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


def _stage(photo: CleanPhoto) -> str:
    """Write the photo to the staging folder, synced to disk; returns its staged name."""
    staged = f"{uuid.uuid4().hex}.{photo.extension}"
    path = staging_path(staged)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as kept:
            kept.write(photo.content)
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
    None for a file that does not decode (only one staged before uploads were encoded again
    can fail): it is kept, without variants."""
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
    """The stored variants of a stored photo, narrowest first (asked of the storage)."""
    storage = photo_storage()
    return [(width, variant_name(name, width)) for width in VARIANT_WIDTHS if storage.exists(variant_name(name, width))]


def photo_thumbnail_url(photo: PressPhoto) -> str:
    """The smallest stored copy of a photo, for the artist's panel ("" while it is not stored)."""
    if not photo.name:
        return ""
    return photo_storage().url(variant_name(photo.name, photo.widths[0]) if photo.widths else photo.name)


def photo_documents(photos: list[PressPhoto]) -> list[dict]:
    """The stored photos as a published version shows them (presskit.documents), in order; the
    ones still waiting for the storage are left out. Asks nothing of the storage."""
    storage = photo_storage()
    return [{"url": storage.url(photo.name), "credit": photo.credit,
             "variants": [{"width": width, "url": storage.url(variant_name(photo.name, width))} for width in photo.widths]}
            for photo in photos if photo.name]


def _remove_stored(presskit_id: str, name: str) -> None:
    """A photo no draft shows any more, with its variants; kept while a version shows it."""
    published = PresskitVersion.objects.filter(presskit_id=presskit_id).values_list("photo_names", flat=True)
    if any(name in names for names in published):
        return
    try:
        storage = photo_storage()
        for doomed in (name, *(variant_name(name, width) for width in VARIANT_WIDTHS)):
            storage.delete(doomed)
    except Exception as error:  # noqa: BLE001 - best effort: a leftover photo costs only space
        logger.warning("stored photo %s not removed: %s", name, describe_error(error))


# --- The job: copy to the photo storage, then record it ---------------------------------------------
def _waiting(payload: dict) -> bool:
    """Is the upload still one of its presskit's photos, waiting to be stored?"""
    return PressPhoto.objects.filter(presskit_id=payload["presskit"], staged=payload["staged"]).exists()


def photo_store(payload: dict) -> dict:
    """Copy the staged upload to the photo storage under its deterministic name (a repeat
    overwrites the same name), with its resized variants. Raises when the storage fails. An
    upload taken out meanwhile, or whose presskit is gone, is not copied."""
    staged = payload["staged"]
    if not _waiting(payload):
        return {"stored": False}
    name = stored_name(payload)
    storage = photo_storage()
    source = staging_path(staged)
    if not source.exists() and storage.exists(name):  # copied by an earlier try that did not record it
        return {"stored": True, "name": name, "widths": [width for width, _ in photo_variants(name)]}
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
    return {"stored": True, "name": name, "widths": list(variants)}


def _store_bytes(name: str, content: bytes) -> None:
    storage = photo_storage()
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(content))
    if saved != name:
        storage.delete(saved)


def photo_record(payload: dict, value: dict) -> dict:
    """The job's effect, inside the transaction that marks it done: the photo is stored, unless
    it was taken out meanwhile (then this upload is only cleaned up)."""
    staged, presskit_id = payload["staged"], payload["presskit"]
    photo = PressPhoto.objects.select_for_update().filter(presskit_id=presskit_id, staged=staged).first()
    transaction.on_commit(lambda: _remove_staged(staged))
    if photo is None or not value.get("stored"):
        if value.get("stored"):
            transaction.on_commit(lambda: _remove_stored(presskit_id, value["name"]))
        return {"stored": False, "reason": "removed"}
    previous = photo.name  # a photo moved over from the one-photo draft with a newer upload waiting
    photo.name, photo.staged, photo.widths = value["name"], "", value.get("widths", [])
    photo.save(update_fields=["name", "staged", "widths"])
    if previous and previous != value["name"]:
        transaction.on_commit(lambda: _remove_stored(presskit_id, previous))
    Presskit.objects.filter(pk=presskit_id).update(updated_at=timezone.now())
    if not value.get("shown"):  # stored by a worker: the artist's open pages show it now
        transaction.on_commit(lambda: presskit_changed_send(presskit_id=presskit_id))
    return {"stored": True, "name": value["name"]}


PHOTO_STORE = JobType(name=JOB_TYPE, run=photo_store, apply=photo_record, dependency=DEPENDENCY,
                      priority=Priority.HIGH)


def _photo_added(presskit_id: str, staged: str, credit: str) -> None:
    """The staged upload, last in the presskit's order, unless the presskit is full (PhotoInvalid)
    or gone (Presskit.DoesNotExist). The presskit's row is locked: two uploads at once cannot
    both take the last place."""
    with transaction.atomic():
        presskit = Presskit.objects.select_for_update().get(pk=presskit_id)
        photos = list(presskit.photos.values_list("position", flat=True))
        if len(photos) >= settings.PHOTOS_PER_PRESSKIT:
            raise PhotoInvalid("too_many")
        PressPhoto.objects.create(presskit=presskit, staged=staged, credit=credit, position=max(photos, default=-1) + 1)
        presskit.save(update_fields=["updated_at"])


def photo_upload(*, presskit_id: str, upload: UploadedFile, credit: str = "") -> FallbackResult:
    """Take one more photo for the presskit, with its credit: check it and encode it again
    (PhotoInvalid, also when the presskit holds PHOTOS_PER_PRESSKIT already), keep that in the
    staging folder (PhotoNotKept), then store it now or queue the copy. The result's `fallback`
    says which: NONE (stored), QUEUED (kept, copied when the storage is back) or FAILED (kept,
    but its job ran out of attempts: staff see it among the dead jobs)."""
    if PressPhoto.objects.filter(presskit_id=presskit_id).count() >= settings.PHOTOS_PER_PRESSKIT:
        raise PhotoInvalid("too_many")  # said before the photo is decoded; checked again when added
    staged = _stage(photo_clean(upload))
    try:
        _photo_added(presskit_id, staged, credit)
    except Exception:
        _remove_staged(staged)
        raise
    payload = {"presskit": str(presskit_id), "staged": staged}
    request = JobRequest(JOB_TYPE, payload, idempotency_key=f"photo:{staged}", owner=f"presskit:{presskit_id}")
    # Stored now: the request shows it (with its notice); stored later by a worker: pushed.
    return execute_with_fallback(lambda: {**photo_store(payload), "shown": True}, dependency=DEPENDENCY,
                                 plan=FallbackPlan(queue=request))


# --- The artist's changes to their photos (the draft panel) ---------------------------------------
def photo_remove(presskit: Presskit, photo: PressPhoto) -> None:
    """Take a photo out of the draft; its files go after the commit unless a version shows it.
    A copy still waiting for the storage then finds nothing to record."""
    name, staged, presskit_id = photo.name, photo.staged, str(presskit.pk)
    photo.delete()
    if staged:
        transaction.on_commit(lambda: _remove_staged(staged))
    if name:
        transaction.on_commit(lambda: _remove_stored(presskit_id, name))


def photo_move(photos: list[PressPhoto], photo: PressPhoto, offset: int) -> None:
    """Move `photo` `offset` places (-1: earlier, 1: later) among its presskit's `photos` (all
    of them, in order); at either end it stays."""
    at = next(index for index, each in enumerate(photos) if each.pk == photo.pk)
    if not 0 <= at + offset < len(photos):
        return
    photos[at], photos[at + offset] = photos[at + offset], photos[at]
    for position, each in enumerate(photos):
        if each.position != position:
            each.position = position
            each.save(update_fields=["position"])
