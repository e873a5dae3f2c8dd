"""The Content-Security-Policy of every response that sets none of its own: django-csp's middleware
with settings.CONTENT_SECURITY_POLICY, plus the photo storage's origin in img-src when the press
photos are served from elsewhere (an S3 bucket, a CDN), since the chat's panel shows the photo."""
from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase

from presskit.photos import photo_storage


def photo_storage_origin() -> str | None:
    """The origin the photo storage's URLs point to, or None when they are this site's own."""
    url = urlsplit(photo_storage().url("origin-probe"))
    return f"{url.scheme}://{url.netloc}" if url.scheme in ("http", "https") else None


class PhotoOriginCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if origin := photo_storage_origin():
            update = dict(parts.update or {})
            update["img-src"] = [*update.get("img-src", ()), origin]
            parts.update = update
        return parts
