""""Descargar todo": one ZIP per published version with everything a promoter needs. Inside it
is a folder named after the slug holding the press photos at full resolution, as published, in
the artist's order (`foto-prensa-1.<jpg|png|webp>`, `foto-prensa-2…`) with their credits as
UTF-8 plain text (`fotos.txt`), the PDF (`presskit.pdf`), the JSON as /p/<slug>.json serves it
(`presskit.json`), the bios as UTF-8 plain text (`bios.txt`) and, if the version has one, the
tech rider (`rider.pdf`).

Those names are fixed: nothing the artist typed becomes a path (the slug is ours, made with
slugify). The export job builds the ZIP and keeps it at `zips/<slug>-v<N>.zip` in the exports
storage. /p/<slug>.zip serves that file while it is current, else builds a new one and keeps it.
"""
from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import PurePosixPath

from django.utils import translation

from presskit.documents import document_photos, served
from presskit.exports import exports_read, exports_replace, pdf_name, pdf_render
from presskit.photos import photo_read
from presskit.riders import version_rider_name
from presskit.selectors import PublicPresskit
from presskit.texts import public_texts
from resilience.queue import describe_error

logger = logging.getLogger(__name__)

JSON_FILE = "presskit.json"


def zip_name(document: dict) -> str:
    return f"zips/{document['slug']}-v{document['version']}.zip"


def _bio_block(bio: dict, texts: dict[str, str]) -> str:
    sections = [(texts["bios_one_liner"], bio.get("one_liner", "")), (texts["bios_short"], bio["short"]),
                (texts["bios_long"], bio["long"])]
    return "\n\n".join(f"{label}\n{'-' * len(label)}\n{text.strip()}" for label, text in sections if text.strip())


def bios_text(document: dict) -> str:
    """The bios, and their translations, as plain text, headed in the document's language."""
    language = document["language"]
    texts = public_texts(language)
    title = texts["bios_title"].format(name=document["artist"]["name"])
    blocks = [f"{title}\n{'=' * len(title)}", _bio_block(document["bio"], texts)]
    with translation.override(language):
        for code, bio in document["bio"].get("translations", {}).items():
            heading = texts["bios_translation"].format(language=translation.get_language_info(code)["name_translated"])
            blocks.append(f"{heading}\n{'=' * len(heading)}\n\n{_bio_block(bio, texts)}")
    return "\n\n\n".join(blocks) + "\n"


def photo_file_name(number: int, name: str) -> str:
    """A photo's name in the ZIP and when downloaded alone: its place (from 1) and our extension."""
    return f"foto-prensa-{number}{PurePosixPath(name).suffix}"  # .jpg, .png or .webp


def photos_text(document: dict, photo_names: list[str]) -> str:
    """Which file is which photo, and whose: the credits a publication must print."""
    texts = public_texts(document["language"])
    title = texts["photos_title"].format(name=document["artist"]["name"])
    lines = [f"{photo_file_name(number, name)}"
             + (f" · {texts['photo_credit'].format(credit=photo['credit'])}" if photo["credit"] else "")
             for number, (name, photo) in enumerate(zip(photo_names, document_photos(document)), start=1)]
    return "\n".join([title, "=" * len(title), "", *lines]) + "\n"


def zip_build(document: dict, *, photo_names: list[str]) -> bytes:
    """The ZIP of a version's document as served today; `photo_names`: its photos in the photo
    storage, in order."""
    today = served(document)
    slug = document["slug"]
    # A version with a date now past gets its sheet made again, as /p/<slug>.pdf does.
    stored_pdf = exports_read(pdf_name(document)) if today == document else None
    files = {JSON_FILE: json.dumps(today, ensure_ascii=False, indent=2).encode(),
             "bios.txt": bios_text(document).encode(),
             "presskit.pdf": stored_pdf or pdf_render(document, photo_names=photo_names)}
    for number, name in enumerate(photo_names, start=1):
        files[photo_file_name(number, name)] = photo_read(name)
    if photo_names:
        files["fotos.txt"] = photos_text(document, photo_names).encode()
    if (document.get("rider") or {}).get("pdf"):
        if (rider := exports_read(version_rider_name(document))) is None:
            logger.warning("rider PDF of %s missing: left out of its ZIP", slug)
        else:
            files["rider.pdf"] = rider
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{slug}/{name}", content)
    return out.getvalue()


def _current(content: bytes, document: dict) -> bool:
    """Whether a kept ZIP shows the version as it is served today. Past dates leave the JSON and
    the PDF (presskit.clock), so a ZIP made on an earlier day may list a show that is over; its
    JSON says exactly what it was made from (the PDF is made from the same), which keeps a ZIP
    whose dates are all still ahead and needs no modification time from the storage."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return json.loads(archive.read(f"{document['slug']}/{JSON_FILE}")) == served(document)
    except (zipfile.BadZipFile, KeyError, ValueError):
        return False


def public_zip_content(public: PublicPresskit) -> bytes:
    """The public version's ZIP: the kept one while it is current, else built now and kept.
    Served from the snapshot (the database away), the photos' names are unknown: the kept ZIP is
    served as it is, and one built meanwhile (without the photos) is not kept."""
    kept = exports_read(zip_name(public.document))
    if kept is not None and (public.from_snapshot or _current(kept, public.document)):
        return kept
    content = zip_build(public.document, photo_names=public.photo_names)
    if not public.from_snapshot:
        try:
            exports_replace(zip_name(public.document), content)
        except OSError as error:  # served all the same; the next download builds it again
            logger.warning("ZIP of %s not kept: %s", public.document["slug"], describe_error(error))
    return content
