"""The exports of a published version: its snapshot outside the database, its PDF and its ZIP.

All three live in the exports storage (STORAGES["exports"]: by default a folder of the data
directory, shared by every Daphne and worker). The snapshot is the public version's document
(`snapshots/<slug>.json`), which the public routes serve when the database cannot answer. The
PDF (`pdf/<slug>-v<N>.pdf`) is an A4 one-sheet made with WeasyPrint, tagged (PDF/UA-1), its
text selectable. The ZIP (`zips/<slug>-v<N>.zip`, presskit.zips) holds the photos, the PDF,
the JSON, the bios and the rider. The job `presskit.version_export`, queued with the version,
writes all three (a renderer or storage failure is retried by the queue, never lost); until
its PDF or ZIP exists, /p/<slug>.pdf and /p/<slug>.zip make one on demand.

WeasyPrint fetches nothing the artist named: the only URLs it can resolve are our own
`presskit:` ones (the stored photos, our static files); any other is refused.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from presskit.documents import document_photos, served
from presskit.models import PresskitVersion
from presskit.photos import CONTENT_TYPES, photo_read, photo_variants, stored_name_valid
from presskit.texts import public_texts, shows_dated, version_caption
from resilience.queue import JobRequest, JobType, Priority, describe_error

logger = logging.getLogger(__name__)

JOB_TYPE = "presskit.version_export"
DEPENDENCY = "storage"
PHOTO_PREFIX = "presskit:photo/"
STATIC_PREFIX = "presskit:static/"
STATIC_TYPES = {"css": "text/css", "svg": "image/svg+xml", "png": "image/png"}


def exports_storage() -> Storage:
    return storages["exports"]


def snapshot_name(slug: str) -> str:
    return f"snapshots/{slug}.json"


def pdf_name(document: dict) -> str:
    return f"pdf/{document['slug']}-v{document['version']}.pdf"


def day_pdf_name(document: dict, day: str) -> str:
    """The sheet of a version holding a date now past, as made on `day` (ISO)."""
    return pdf_name(document).replace(".pdf", f"-{day}.pdf")


def day_pdfs_remove_others(document: dict, day: str) -> None:
    """The page's sheets made on other days than `day`, of any of its versions, removed (best
    effort: a leftover costs only space)."""
    made_on_a_day = re.compile(rf"{re.escape(document['slug'])}-v[0-9]+-([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})\.pdf")
    storage = exports_storage()
    try:
        for name in storage.listdir("pdf")[1]:
            if (found := made_on_a_day.fullmatch(name)) and found.group(1) != day:
                storage.delete(f"pdf/{name}")
    except Exception as error:  # noqa: BLE001 - any storage's error: best effort, the sheet is served
        logger.warning("older sheets of %s not removed: %s", document["slug"], describe_error(error))


def exports_replace(name: str, content: bytes) -> None:
    """Write `name` whole: the storage keeps the name (it would pick another if it existed)."""
    storage = exports_storage()
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(content))
    if saved != name:  # another writer got there at the same moment with the same content
        storage.delete(saved)


def exports_read(name: str) -> bytes | None:
    """The stored file `name`, or None when there is none."""
    try:
        with exports_storage().open(name) as stored:
            return stored.read()
    except FileNotFoundError:
        return None


def snapshot_write(document: dict) -> None:
    exports_replace(snapshot_name(document["slug"]), json.dumps(document, ensure_ascii=False).encode())


def snapshot_read(slug: str) -> dict | None:
    """The public version's document as last written, or None (never published, taken down)."""
    try:
        with exports_storage().open(snapshot_name(slug)) as snapshot:
            return json.loads(snapshot.read())
    except FileNotFoundError:
        return None


def snapshot_remove(slug: str) -> None:
    exports_storage().delete(snapshot_name(slug))


def snapshot_remove_later(slug: str) -> None:
    """After the commit that took the page down: its snapshot goes too (best effort; while the
    database answers the page is gone anyway)."""

    def remove() -> None:
        try:
            snapshot_remove(slug)
        except Exception as error:  # noqa: BLE001 - logged; only the outage fallback is stale
            logger.warning("snapshot of %s not removed: %s", slug, describe_error(error))

    transaction.on_commit(remove)


# --- The PDF -------------------------------------------------------------------------------------
def _fetch_own(url: str) -> tuple[bytes, str]:
    """WeasyPrint's only way to the outside: our stored photos and static files, nothing else."""
    if url.startswith(PHOTO_PREFIX) and stored_name_valid(name := url.removeprefix(PHOTO_PREFIX)):
        return photo_read(name), CONTENT_TYPES[PurePosixPath(name).suffix[1:]]
    path = url.removeprefix(STATIC_PREFIX) if url.startswith(STATIC_PREFIX) else ""
    suffix = PurePosixPath(path).suffix[1:]
    if suffix in STATIC_TYPES and (found := finders.find(path)):
        with open(found, "rb") as static:
            return static.read(), STATIC_TYPES[suffix]
    raise ValueError(f"not fetched: {url[:80]}")


def _pdf_engine_import() -> str:
    """WeasyPrint, imported on first use (it needs Debian's Pango, so the rest runs without it);
    returns its version."""
    import weasyprint
    from PIL import ImageFile

    # Importing WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on for the whole process: a
    # truncated upload would then decode, padded, and be kept (presskit.photos refuses it). The
    # sheet prints only photos we encoded ourselves, never truncated: off again.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return weasyprint.__version__


def pdf_engine_load() -> None:
    """Import the PDF engine now, not in a job: a Celery worker calls this before it starts its
    pool. A job's time limit that lands inside WeasyPrint's first import (a second of work)
    leaves half-loaded modules behind, and every later export in that process fails (an
    AttributeError or AssertionError each attempt, until the job is dead)."""
    try:
        logger.info("PDF engine loaded: WeasyPrint %s", _pdf_engine_import())
    except (ImportError, OSError) as missing:  # no Pango here: exports fail, and are retried, until it is installed
        logger.warning("PDF engine not loaded: %s", describe_error(missing))


def _write_pdf(html: str) -> bytes:
    _pdf_engine_import()
    from weasyprint import HTML, URLFetcher
    from weasyprint.urls import URLFetcherResponse

    class OwnFilesOnly(URLFetcher):
        def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
            body, content_type = _fetch_own(url)
            return URLFetcherResponse(url, body=body, headers={"Content-Type": content_type})

    return HTML(string=html, base_url=STATIC_PREFIX, url_fetcher=OwnFilesOnly()).write_pdf(pdf_variant="pdf/ua-1")


def pdf_photo(photo_name: str) -> str:
    """The photo a sheet prints: a 960 px variant is plenty at 70 mm (and keeps the file small)."""
    return dict(photo_variants(photo_name)).get(960, photo_name)


def pdf_render(document: dict, *, photo_names: Sequence[str] = ()) -> bytes:
    """The one-sheet of a version's document as served today (its past dates left out), with
    its first photo and that photo's credit; `photo_names`: its photos in the photo storage."""
    document = served(document)
    texts = public_texts(document["language"])
    photos = document_photos(document)
    credit = photos[0]["credit"] if photos and photo_names else ""
    html = render_to_string("presskit/pdf.html", {
        "doc": document, "t": {**texts, "photo_alt": texts["photo_alt"].format(name=document["artist"]["name"])},
        "photo_src": f"{PHOTO_PREFIX}{pdf_photo(photo_names[0])}" if photo_names else "",
        "photo_credit": texts["photo_credit"].format(credit=credit) if credit else "",
        "stylesheet": f"{STATIC_PREFIX}css/presskit_pdf.css",
        "page_url": settings.PUBLIC_BASE_URL.rstrip("/") + reverse("public_page", args=[document["slug"]]),
        "version_text": version_caption(document),
        "shows": shows_dated(document.get("shows", []), document["language"]),
    })
    return _write_pdf(html)


def version_pdf(version: PresskitVersion) -> bytes:
    return pdf_render(version.document, photo_names=version.photo_names)


# --- The job: snapshot, PDF and ZIP of a published version ---------------------------------------
def version_export(payload: dict) -> dict:
    from presskit.zips import zip_build, zip_name  # here, not at the top: presskit.zips imports this module

    version = PresskitVersion.objects.select_related("presskit").filter(pk=payload["version"]).first()
    if version is None:
        return {"exported": False}
    if version.presskit.published_version_id == version.pk:  # still the public one
        snapshot_write(version.document)
    name = pdf_name(version.document)
    if not exports_storage().exists(name):
        exports_replace(name, version_pdf(version))
    if not exports_storage().exists(zip_name(version.document)):  # after the PDF: it holds the stored one
        exports_replace(zip_name(version.document), zip_build(version.document, photo_names=version.photo_names))
    return {"exported": True, "pdf": name}


def version_export_record(payload: dict, value: dict) -> dict:
    if value.get("exported"):
        PresskitVersion.objects.filter(pk=payload["version"]).update(pdf_name=value["pdf"])
    return value


VERSION_EXPORT = JobType(name=JOB_TYPE, run=version_export, apply=version_export_record, dependency=DEPENDENCY,
                         priority=Priority.MEDIUM)


def export_job_request(version: PresskitVersion) -> JobRequest:
    return JobRequest(JOB_TYPE, {"version": version.pk}, idempotency_key=f"export:{version.pk}",
                      owner=f"presskit:{version.presskit_id}")
