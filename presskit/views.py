"""Operational endpoints of the project."""
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from resilience.degradation import readiness_check


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
