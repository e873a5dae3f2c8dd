"""Operational endpoints of the project, the stored press photos, and the published presskit:
its public page, its PDF, its JSON and its ZIP (each served from the snapshot when the database
cannot answer)."""
import json
import logging
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sitemaps.views import sitemap
from django.core.exceptions import SuspiciousFileOperation
from django.db import DatabaseError
from django.http import (
    Http404, HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponsePermanentRedirect, HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language_from_request
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from presskit.clients import client_of_request
from presskit.csp import origin_of
from presskit.documents import LINK_KINDS, document_photos, served
from presskit.clock import today
from presskit.exports import day_pdf_name, day_pdfs_remove_others, exports_read, exports_replace, pdf_name, pdf_render
from presskit.operator_access import may_read_readiness_details, may_scrape_metrics
from presskit.photos import CONTENT_TYPES, photo_read, stored_name_valid
from presskit.players import Player
from presskit.riders import version_rider_name
from presskit.stats import count as stats_count
from presskit.selectors import DATABASE_BREAKER, NotPublished, PublicPresskit, public_presskit_get
from presskit.sitemaps import SITEMAPS
from presskit.texts import public_texts, shows_dated, version_caption
from presskit.zips import photo_file_name, public_zip_content
from resilience.breakers import CircuitOpenError, get_breaker
from resilience.degradation import readiness_check, readiness_in_rotation
from resilience.queue import describe_error

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Touches no dependency, so it never flaps with them."""
    return JsonResponse({"status": "ok"})


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked for by browsers, crawlers and link previews whatever the page's
    <link rel="icon">: the icon's hashed static file (resolved per request: the manifest may not
    exist yet when the URLs load)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 at EMERGENCY (take this process out of rotation), else 200. Anyone gets
    only that, from the stored level; staff and the token's bearer also get the level and every
    dependency's health (names and error classes are not for the public)."""
    if may_read_readiness_details(request):
        readiness = readiness_check()
        return JsonResponse(readiness.as_dict(), status=readiness.http_status)
    if readiness_in_rotation():
        return JsonResponse({"status": "ready"})
    return JsonResponse({"status": "not_ready"}, status=503)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint (breaker metrics are read from the shared store), for the
    token's bearer or an allowed network; anyone else is refused before any work."""
    if not may_scrape_metrics(request):
        return HttpResponseForbidden("The metrics need the bearer token or an allowed network.\n",
                                     content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


@require_safe
def photo_file(request: HttpRequest, name: str) -> HttpResponse:
    """A stored press photo, read through the photo storage: whitenoise serves only the static
    files collected at startup, and this works for any storage backend (with S3 the page links
    to the bucket instead, through `storage.url`). Only names the app writes are served (no
    path of the artist's, no way out of the storage's folder). The names are unique and never
    rewritten, so browsers may keep them for good. A photo is an upload of at most
    PHOTO_MAX_BYTES encoded again: it is read whole (a sync file iterator under ASGI would be
    consumed in a thread anyway). Opened on its own, it is shown inline and can run nothing."""
    if not stored_name_valid(name):
        raise Http404("no such photo")
    try:
        content = photo_read(name)
    except (FileNotFoundError, SuspiciousFileOperation):
        raise Http404("no such photo") from None
    except OSError as error:
        logger.warning("photo %s unreadable: %s", name, describe_error(error))
        return HttpResponse("Photo storage unavailable", status=503, content_type="text/plain")
    response = HttpResponse(content, content_type=CONTENT_TYPES[PurePosixPath(name).suffix[1:]])
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{PurePosixPath(name).name}"'  # ours: hex and extension
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- The published presskit ------------------------------------------------------------------------
# The public page's one script is ours (the player, the counts); styles and images come from here
# (or the photo storage).
PUBLIC_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:{photo_origin}; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'; script-src 'self'; connect-src 'self'")
LINK_LABELS = {kind.kind: kind.label for kind in LINK_KINDS}
PLAYER_CSP = "; frame-src {origin}"  # with a player: frames from its service only
PUBLIC_CACHE = "public, max-age=60"  # a republish shows within a minute


def _not_found(request: HttpRequest) -> HttpResponse:
    language = get_language_from_request(request)
    response = render(request, "presskit/not_found.html", {"t": public_texts(language), "language": language},
                      status=404)
    response["Content-Security-Policy"] = PUBLIC_CSP.format(photo_origin="")
    return response


def _public(slug: str) -> PublicPresskit:
    try:
        return public_presskit_get(slug=slug)
    except NotPublished:
        raise Http404("not published") from None


def _absolute(request: HttpRequest, url: str) -> str:
    return url if urlsplit(url).scheme else request.build_absolute_uri(url)


def _photo_origin(document: dict) -> str:
    """Where the photos are served from, when not from here (one photo storage holds them all)."""
    photos = document_photos(document)
    origin = origin_of(photos[0]["url"]) if photos else ""
    return f" {origin}" if origin else ""


PAGE_LANGUAGES = tuple(code for code, _ in settings.LANGUAGES)


def _reader_language(request: HttpRequest, document: dict) -> str:
    """The language of the page's own words (the artist's stay as written): ?lang= (a link to one
    language), else what the reader's browser asks for, else the artist's."""
    if (asked := request.GET.get("lang", "")) in PAGE_LANGUAGES:
        return asked
    if request.headers.get("Accept-Language"):
        return get_language_from_request(request)
    return document["language"]


def public_context(request: HttpRequest, public: PublicPresskit) -> dict:
    doc = served(public.document)
    language = _reader_language(request, doc)
    texts = public_texts(language)
    name = doc["artist"]["name"]
    photos = [{**photo, "number": number, "download": reverse("public_photo", args=[doc["slug"], number]),
               "alt": texts["photo_alt_numbered"].format(number=number, name=name),
               "download_aria": texts["photo_download_aria"].format(number=number),
               "credit_text": texts["photo_credit"].format(credit=photo["credit"]) if photo["credit"] else ""}
              for number, photo in enumerate(document_photos(doc), start=1)]
    portrait = photos[0] if photos else None
    bio = _bio_in(doc, language)
    widest = (portrait["variants"][-1]["url"] if portrait["variants"] else portrait["url"]) if portrait else ""
    page_url = request.build_absolute_uri(reverse("public_page", args=[doc["slug"]]))
    in_language = {code: f"{page_url}?lang={code}" for code in PAGE_LANGUAGES}
    structured = {
        "@context": "https://schema.org",
        "@type": "MusicGroup",  # schema.org: "can also be a solo musician"
        "name": doc["artist"]["name"],
        "description": bio["short"],
        "genre": doc["artist"]["genres"],
        "url": page_url,
        "sameAs": [link["url"] for link in doc["links"]],
        "email": f"mailto:{doc['booking_email']}",
        **({"image": _absolute(request, widest)} if widest else {}),
        **({"foundingLocation": {"@type": "Place", "name": doc["artist"]["location"]}}
           if doc["artist"]["location"] else {}),
    }
    return {
        "doc": doc,
        "t": texts,
        "photo_alt": texts["photo_alt"].format(name=name),
        "portrait": portrait,
        "photos": photos,
        "links": [{**link, "aria": texts["link_aria"].format(label=link["label"], name=doc["artist"]["name"])}
                  for link in doc["links"]],
        "page_url": page_url,
        "image_url": _absolute(request, widest) if widest else "",
        "photo_src": widest,
        "structured": structured,
        "version_text": version_caption(doc, language),
        "from_snapshot": public.from_snapshot,
        "language": language,
        # Each language's own address (hreflang), the one shown when it was asked for by link.
        "alternates": in_language,
        "canonical_url": in_language[language] if "lang" in request.GET else page_url,
        "other_languages": [{"code": code, "url": url, "text": public_texts(code)["language_switch"]}
                            for code, url in in_language.items() if code != language],
        "noindex": not public.listed,
        "player": _player_context(doc, texts),
        "shows": shows_dated(doc.get("shows", []), language),
        "bio": bio,
    }


def _bio_in(doc: dict, language: str) -> dict:
    """The bio in the reader's language when it was translated, else as the artist's was written;
    with the language it is in. Versions published before translations (or one-liners) have none."""
    translation = doc["bio"].get("translations", {}).get(language) if language != doc["language"] else None
    bio = translation or doc["bio"]
    return {"one_liner": bio.get("one_liner", ""), "short": bio["short"], "long": bio["long"],
            "language": language if translation else doc["language"]}


def _player_context(doc: dict, texts: dict[str, str]) -> dict | None:
    """The player's words and its address (versions published before schema 2 have none)."""
    if not doc.get("player"):
        return None
    player = Player(**doc["player"])
    label = LINK_LABELS[player.kind]
    return {"player": player, "play": texts["play"].format(label=label),
            "note": texts["play_note"].format(label=label),
            "title": texts["player_title"].format(name=doc["artist"]["name"], label=label)}


@require_safe
def public_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The page a booker opens: no cookie set, a strict CSP, script only for the player and the
    counts; a view is counted (presskit.stats)."""
    try:
        public = _public(slug)
    except Http404:
        return _not_found(request)
    if request.method == "GET":
        _counted(request, public.document, "view")
    context = public_context(request, public)
    response = render(request, "presskit/public.html", context)
    response["Content-Security-Policy"] = PUBLIC_CSP.format(photo_origin=_photo_origin(public.document)) + (
        PLAYER_CSP.format(origin=context["player"]["player"].origin) if context["player"] else "")
    response["Cache-Control"] = PUBLIC_CACHE
    patch_vary_headers(response, ["Accept-Language"])  # the page's words follow the reader's language
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if not public.listed:  # reachable by its link, not advertised (Presskit.listed)
        response["X-Robots-Tag"] = "noindex"
    return response


SITEMAP_RETRY_AFTER = 300  # seconds: crawlers come back for a sitemap that is briefly away


@require_safe
def sitemap_xml(request: HttpRequest) -> HttpResponse:
    """The listed pages (presskit.sitemaps), read from the database through its breaker. While
    the database is away the list cannot be known (the snapshots do not say which pages are
    listed): 503 with Retry-After, which crawlers take as "later", never a made-up list."""
    def rendered() -> HttpResponse | None:
        try:
            return sitemap(request, sitemaps=SITEMAPS).render()  # rendered here: the query runs inside
        except Http404:  # a page of the sitemap that does not exist (?p=99): no database failure
            return None

    try:
        response = get_breaker(DATABASE_BREAKER).call_sync(rendered)
    except (DatabaseError, CircuitOpenError) as error:
        logger.warning("sitemap.xml unavailable: database away (%s)", type(error).__name__)
        response = HttpResponse("The sitemap is briefly unavailable.\n", status=503, content_type="text/plain")
        response["Retry-After"] = str(SITEMAP_RETRY_AFTER)
    if response is None:
        raise Http404("no such sitemap page")
    return response


ROBOTS_DISALLOWED = ("/admin/", "/e/", "/ws/")  # staff, the private edit links, the chat's sockets


@require_safe
def robots_txt(request: HttpRequest) -> HttpResponse:
    """For crawlers: everything but the private doors, and the sitemap of the listed pages."""
    lines = ["User-agent: *", "Allow: /", *(f"Disallow: {path}" for path in ROBOTS_DISALLOWED),
             f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_safe
def public_json(request: HttpRequest, slug: str) -> HttpResponse:
    """The published version as data (presskit/schemas/presskit.schema.json); any site may read it."""
    try:
        public = _public(slug)
    except Http404:
        response = JsonResponse({"error": "not_published"}, status=404)
    else:
        response = HttpResponse(json.dumps(served(public.document), ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
        response["Cache-Control"] = PUBLIC_CACHE
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _counted(request: HttpRequest, document: dict, event: str) -> None:
    stats_count(slug=document["slug"], version=document["version"], event=event,
                user_agent=request.headers.get("User-Agent", ""), client=client_of_request(request))


@csrf_exempt  # a beacon from the page (no cookie, no session): a forged one can only add a count
@require_POST
def public_count(request: HttpRequest, slug: str) -> HttpResponse:
    """A play or a link followed on the page of version `version` (public.js). Counted only for
    the version that is public, and never stored about the visitor."""
    event, version = request.POST.get("event", ""), request.POST.get("version", "")
    if event not in ("play", "link") or not (version.isascii() and version.isdigit()):
        return HttpResponse(status=400)
    try:
        public = _public(slug)
    except Http404:
        return HttpResponse(status=404)
    if public.document["version"] == int(version):
        _counted(request, public.document, event)
    return HttpResponse(status=204)


@require_safe
async def public_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    """The version's one-sheet: the one the export job stored, else rendered now (in a worker
    thread, never on the event loop nor on the thread the sync views share)."""
    try:
        public = await sync_to_async(_public)(slug)
    except Http404:
        return await sync_to_async(_not_found)(request)
    if request.method == "GET":
        await sync_to_async(_counted, thread_sensitive=False)(request, public.document, "pdf")
    # A stored PDF may list a date now past: a version with one is made anew, once a day (kept
    # under the day's name), until the next publish.
    stale = served(public.document) != public.document
    day = today().isoformat()
    name = day_pdf_name(public.document, day) if stale else pdf_name(public.document)
    content = await sync_to_async(exports_read, thread_sensitive=False)(name)
    if content is None:
        content = await sync_to_async(pdf_render, thread_sensitive=False)(public.document, photo_names=public.photo_names)
        if stale:
            await sync_to_async(_day_pdf_keep, thread_sensitive=False)(public.document, day, content)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{public.document["slug"]}.pdf"'
    response["Cache-Control"] = PUBLIC_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _day_pdf_keep(document: dict, day: str, content: bytes) -> None:
    """Today's sheet kept for the day's other downloads; the earlier days' ones go."""
    exports_replace(day_pdf_name(document, day), content)
    day_pdfs_remove_others(document, day)


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """A file of the public version, always saved, never shown in our origin (and able to run
    nothing if opened); `filename` is ours (the slug and fixed names), never the artist's."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = PUBLIC_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_safe
def public_rider(request: HttpRequest, slug: str) -> HttpResponse:
    """The public version's tech rider PDF, as the artist uploaded it (checked as a PDF, but its
    content is theirs): always downloaded, never shown in our origin."""
    try:
        public = _public(slug)
    except Http404:
        return _not_found(request)
    if not (public.document.get("rider") or {}).get("pdf"):
        return _not_found(request)
    try:
        content = exports_read(version_rider_name(public.document))
    except OSError as error:
        logger.warning("rider PDF of %s unreadable: %s", slug, describe_error(error))
        return HttpResponse("Storage unavailable", status=503, content_type="text/plain")
    if content is None:
        return _not_found(request)
    return _download(content, "application/pdf", f"{public.document['slug']}-rider.pdf")


@require_safe
async def public_photo(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Photo `number` (from 1) of the public version at full resolution, as a download named after
    the page, read in a worker thread (up to PHOTO_MAX_BYTES, maybe from a remote storage). Served
    from the snapshot (the database away) the stored names are unknown: the browser is sent to the
    photo's own address instead."""
    try:
        public = await sync_to_async(_public)(slug)
    except Http404:
        return await sync_to_async(_not_found)(request)
    photos = document_photos(public.document)
    if not 1 <= number <= len(photos):
        return await sync_to_async(_not_found)(request)
    if public.from_snapshot:
        return HttpResponseRedirect(photos[number - 1]["url"])
    name = public.photo_names[number - 1]
    try:
        content = await sync_to_async(photo_read, thread_sensitive=False)(name)
    except FileNotFoundError:
        return await sync_to_async(_not_found)(request)
    except OSError as error:
        logger.warning("photo %s of %s unreadable: %s", number, slug, describe_error(error))
        return HttpResponse("Photo storage unavailable", status=503, content_type="text/plain")
    return _download(content, CONTENT_TYPES[PurePosixPath(name).suffix[1:]], f"{slug}-{photo_file_name(number, name)}")


@require_safe
async def public_zip(request: HttpRequest, slug: str) -> HttpResponse:
    """Everything in one download (presskit.zips): the ZIP the export job kept, else (missing, or
    out of date since a show passed) one built now in a worker thread, never on the event loop."""
    try:
        public = await sync_to_async(_public)(slug)
    except Http404:
        return await sync_to_async(_not_found)(request)
    if request.method == "GET":
        await sync_to_async(_counted, thread_sensitive=False)(request, public.document, "zip")
    try:
        content = await sync_to_async(public_zip_content, thread_sensitive=False)(public)
    except OSError as error:
        logger.warning("ZIP of %s not made: %s", slug, describe_error(error))
        return HttpResponse("Storage unavailable", status=503, content_type="text/plain")
    return _download(content, "application/zip", f"{public.document['slug']}-presskit.zip")
