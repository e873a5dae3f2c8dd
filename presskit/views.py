"""Operational endpoints of the project, and the stored press photos."""
import logging
from pathlib import PurePosixPath

from django.core.exceptions import SuspiciousFileOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET, require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from presskit.photos import CONTENT_TYPES, photo_storage, stored_name_valid
from resilience.degradation import readiness_check
from resilience.queue import describe_error

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Touches no dependency, so it never flaps with them."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the degradation level and every dependency's health. 503 when the database is
    down or the level is EMERGENCY (take this process out of rotation), else 200."""
    readiness = readiness_check()
    return JsonResponse(readiness.as_dict(), status=readiness.http_status)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint (breaker metrics are read from the shared store)."""
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


@require_safe
def photo_file(request: HttpRequest, name: str) -> HttpResponse:
    """A stored press photo, read through the photo storage: whitenoise serves only the static
    files collected at startup, and this works for any storage backend (with S3 the page links
    to the bucket instead, through `storage.url`). Only names the app writes are served (no
    path of the artist's, no way out of the storage's folder). The names are unique and never
    rewritten, so browsers may keep them for good. A photo is at most PHOTO_MAX_BYTES: it is
    read whole (a sync file iterator under ASGI would be consumed in a thread anyway)."""
    if not stored_name_valid(name):
        raise Http404("no such photo")
    try:
        with photo_storage().open(name) as photo:
            content = photo.read()
    except (FileNotFoundError, SuspiciousFileOperation):
        raise Http404("no such photo") from None
    except OSError as error:
        logger.warning("photo %s unreadable: %s", name, describe_error(error))
        return HttpResponse("Photo storage unavailable", status=503, content_type="text/plain")
    response = HttpResponse(content, content_type=CONTENT_TYPES[PurePosixPath(name).suffix[1:]])
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response
