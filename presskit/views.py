"""Operational endpoints of the project."""
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Touches no dependency, so it never flaps with them."""
    return JsonResponse({"status": "ok"})
