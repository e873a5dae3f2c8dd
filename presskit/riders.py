"""The tech rider as a PDF: checked, kept in the exports storage, frozen with each version.

An upload is taken only if it is at most RIDER_MAX_MB, starts with `%PDF-` and PDFium opens it,
unencrypted, with 1 to RIDER_MAX_PAGES pages (its name and declared type are never trusted).
The draft's file is kept under a random name (`riders/draft/<hex>.pdf`, never the uploaded
filename). Publishing copies it to the version's own name (`riders/<slug>-v<N>.pdf`), so
replacing or removing the draft's never changes what a published version serves, and the
public route finds it from the document alone (from the snapshot too).
"""
from __future__ import annotations

import logging
import threading
import uuid

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from presskit.exports import exports_replace, exports_storage
from presskit.models import Presskit
from presskit.photos import PhotoSizeLimit
from resilience.queue import describe_error

logger = logging.getLogger(__name__)

RIDER_MAX_PAGES = 50
NOT_ENCRYPTED = -1  # FPDF_GetSecurityHandlerRevision of a document without a security handler
_pdfium_lock = threading.Lock()  # PDFium is not thread-safe: one document at a time per process


class RiderInvalid(ValueError):
    """The upload is not a rider PDF we take. `code` names the artist's message: "empty",
    "too_big", "type", "broken", "encrypted" or "pages". Nothing has been kept."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def rider_max_bytes() -> int:
    return settings.RIDER_MAX_MB * 1024 * 1024


class RiderSizeLimit(PhotoSizeLimit):
    """The photo's streaming limit, at RIDER_MAX_MB."""

    def max_bytes(self) -> int:
        return rider_max_bytes()


def rider_check(upload: UploadedFile) -> bytes:
    """The upload's bytes, if it is a PDF we take; else RiderInvalid."""
    if not upload.size:
        raise RiderInvalid("empty")
    if upload.size > rider_max_bytes():
        raise RiderInvalid("too_big")
    upload.seek(0)
    content = upload.read()
    if not content.startswith(b"%PDF-"):
        raise RiderInvalid("type")
    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(content)
        except pdfium.PdfiumError as error:
            raise RiderInvalid("encrypted" if error.err_code == pdfium_raw.FPDF_ERR_PASSWORD else "broken") from None
        try:
            # Encrypted with an empty user password opens, but a booker's viewer may still balk.
            if pdfium_raw.FPDF_GetSecurityHandlerRevision(document) != NOT_ENCRYPTED:
                raise RiderInvalid("encrypted")
            if not 1 <= len(document) <= RIDER_MAX_PAGES:
                raise RiderInvalid("pages")
        finally:
            document.close()
    return content


def rider_upload(*, presskit_id: str, upload: UploadedFile) -> str:
    """Check the upload and keep it as the draft's rider PDF (replacing any earlier one);
    returns its stored name. Raises RiderInvalid, OSError (storage) or Presskit.DoesNotExist."""
    content = rider_check(upload)
    storage = exports_storage()
    name = storage.save(f"riders/draft/{uuid.uuid4().hex}.pdf", ContentFile(content))
    try:
        with transaction.atomic():
            presskit = Presskit.objects.select_for_update().get(pk=presskit_id)
            previous = presskit.rider_pdf_name
            presskit.rider_pdf_name = name
            presskit.save(update_fields=["rider_pdf_name", "updated_at"])
            if previous:
                transaction.on_commit(lambda: _remove_file(previous))
    except Exception:
        _remove_file(name)
        raise
    return name


def rider_pdf_remove(presskit: Presskit) -> bool:
    """Take the draft's rider PDF out (published versions keep their copies). False if none."""
    name = presskit.rider_pdf_name
    if not name:
        return False
    presskit.rider_pdf_name = ""
    presskit.save(update_fields=["rider_pdf_name", "updated_at"])
    transaction.on_commit(lambda: _remove_file(name))
    return True


def version_rider_name(document: dict) -> str:
    return f"riders/{document['slug']}-v{document['version']}.pdf"


def rider_freeze(presskit: Presskit, document: dict) -> bool:
    """At publish: the draft's rider PDF copied to the version's own name. False (logged) if the
    storage cannot give it: the version is then published without it, never refused for it."""
    try:
        with exports_storage().open(presskit.rider_pdf_name) as draft:
            exports_replace(version_rider_name(document), draft.read())
    except OSError as error:
        logger.warning("rider PDF not published (presskit %s): %s", presskit.pk, describe_error(error))
        return False
    return True


def _remove_file(name: str) -> None:
    try:
        exports_storage().delete(name)
    except Exception as error:  # noqa: BLE001 - best effort: a leftover file costs only space
        logger.warning("rider PDF %s not removed: %s", name, describe_error(error))
