"""The AI request log as a staff-only JSON API (mounted at /api/v1/ai/logs/, see api_urls.py).

Session authentication: a staff member signed in to the admin. Everything answers JSON, errors
included: 403 for anyone else (never a login redirect), 400 for a bad parameter, 404 for an
unknown request id, 405 for a wrong method.

CSRF stays enforced on the unsafe method (DELETE). The check runs inside the view, after the
staff check, with Django's own CsrfViewMiddleware logic, so that a failure is a JSON 403 like the
others instead of Django's HTML failure page (the approach Django REST framework takes).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from resilience import ai_log

DEFAULT_HOURS = 24
MAX_HOURS = 24 * 31  # a window is read row by row for percentiles: about the retention period at most
MAX_LIMIT = 500
MAX_PURGE_DAYS = 36_500  # a century: far beyond any retention, and a date Python can still reach
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
ERROR_CODE_MAX_CHARS = 64

View = Callable[..., JsonResponse]


class BadParameter(ValueError):
    """A query parameter is missing or out of range; its message goes back to the caller."""


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, returning the failure reason instead of rendering the failure page."""

    def _reject(self, request: HttpRequest, reason: str) -> str:  # type: ignore[override]
        return reason


def _csrf_failure(request: HttpRequest) -> str | None:
    check = _CsrfCheck(lambda request: None)  # type: ignore[arg-type, return-value]
    check.process_request(request)
    return check.process_view(request, None, (), {})  # type: ignore[arg-type, return-value]


def staff_json_api(*methods: str) -> Callable[[View], View]:
    """Staff only, these methods only, CSRF on unsafe ones; known errors become JSON answers."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff):
                return _error("Staff only: sign in to the admin with a staff account.", 403)
            if request.method not in methods:
                response = _error(f"Method {request.method} not allowed.", 405)
                response["Allow"] = ", ".join(methods)
                return response
            needed = "resilience.view_airequestlog" if request.method in SAFE_METHODS else "resilience.delete_airequestlog"
            if not user.has_perm(needed):
                return _error(f"This needs the {needed} permission.", 403)
            if request.method not in SAFE_METHODS and (reason := _csrf_failure(request)):
                return _error(f"CSRF check failed: {reason}", 403)
            try:
                return view(request, *args, **kwargs)
            except BadParameter as error:
                return _error(str(error), 400)
            except ai_log.AIRequestLogUnknown as error:
                return _error(f"No AI request logged with id {error.args[0]!r}.", 404)

        # The CSRF check is made above, after the staff check; see the module docstring.
        return csrf_exempt(wrapped)

    return decorate


def _int_param(request: HttpRequest, name: str, *, default: int | None, minimum: int, maximum: int) -> int:
    raw = request.GET.get(name)
    bounds = f"between {minimum} and {maximum}"
    if raw is None or raw == "":
        if default is None:
            raise BadParameter(f"{name} is required: an integer {bounds}.")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer {bounds}.") from None
    if not minimum <= value <= maximum:
        raise BadParameter(f"{name} must be an integer {bounds}.")
    return value


def _limit(request: HttpRequest, default: int) -> int:
    return _int_param(request, "limit", default=default, minimum=1, maximum=MAX_LIMIT)


def _hours(request: HttpRequest) -> int:
    return _int_param(request, "hours", default=DEFAULT_HOURS, minimum=1, maximum=MAX_HOURS)


@staff_json_api("GET")
def logs_recent(request: HttpRequest) -> JsonResponse:
    results = ai_log.ai_log_recent(limit=_limit(request, 50))
    return JsonResponse({"count": len(results), "results": results})


@staff_json_api("GET")
def logs_statistics(request: HttpRequest) -> JsonResponse:
    return JsonResponse(ai_log.ai_log_statistics(hours=_hours(request)))


@staff_json_api("GET")
def logs_providers(request: HttpRequest) -> JsonResponse:
    hours = _hours(request)
    return JsonResponse({"hours": hours, "providers": ai_log.ai_log_providers(hours=hours)})


@staff_json_api("GET")
def logs_errors_top(request: HttpRequest) -> JsonResponse:
    limit, hours = _limit(request, 10), _hours(request)
    return JsonResponse({"hours": hours, "errors": ai_log.ai_log_errors_top(limit=limit, hours=hours)})


@staff_json_api("GET")
def logs_requests_slow(request: HttpRequest) -> JsonResponse:
    limit, hours = _limit(request, 10), _hours(request)
    return JsonResponse({"hours": hours, "requests": ai_log.ai_log_requests_slow(limit=limit, hours=hours)})


@staff_json_api("GET")
def logs_analysis_summary(request: HttpRequest) -> JsonResponse:
    return JsonResponse(ai_log.ai_log_analysis_summary(hours=_hours(request)))


@staff_json_api("GET")
def logs_error_fix(request: HttpRequest, code: str) -> JsonResponse:
    if len(code) > ERROR_CODE_MAX_CHARS or not code.replace("_", "").isalnum() or not code.isascii():
        raise BadParameter("An error code is letters, digits and underscores, e.g. http_429.")
    return JsonResponse(ai_log.ai_error_fix(code=code))


@staff_json_api("GET")
def logs_detail(request: HttpRequest, request_id: str) -> JsonResponse:
    return JsonResponse(ai_log.ai_log_get(request_id=request_id))


@staff_json_api("DELETE")
def logs_collection(request: HttpRequest) -> JsonResponse:
    """DELETE ?older_than_days=N: purge the requests logged more than N days ago."""
    days = _int_param(request, "older_than_days", default=None, minimum=1, maximum=MAX_PURGE_DAYS)
    return JsonResponse({"deleted": ai_log.ai_log_purge(older_than_days=days)})
