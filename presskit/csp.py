"""The Content-Security-Policy of every response that sets none of its own: django-csp's middleware
with settings.CONTENT_SECURITY_POLICY, plus the photo storage's origin in img-src when the press
photos are served from elsewhere (an S3 bucket, a CDN), since the chat's panel shows the photo."""
from __future__ import annotations

import logging
import weakref
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponseBase

from presskit.photos import photo_storage
from resilience.queue import describe_error

logger = logging.getLogger(__name__)

_storage_origins: weakref.WeakKeyDictionary[Storage, str | None] = weakref.WeakKeyDictionary()


def origin_of(url: str) -> str | None:
    """"scheme://host[:port]" of an absolute http(s) URL; None for a path on this site."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


def photo_storage_origin() -> str | None:
    """The origin the photo storage's URLs point to, or None when they are this site's own. Asked
    once per storage (a presigning storage signs a URL to answer), and never fatal: a storage
    that cannot say leaves img-src as it is."""
    storage = photo_storage()
    if storage not in _storage_origins:
        try:
            _storage_origins[storage] = origin_of(storage.url("origin-probe"))
        except Exception as error:  # noqa: BLE001 - every response passes here: the policy must not fail
            logger.warning("photo storage origin unknown, left out of img-src: %s", describe_error(error))
            return None
    return _storage_origins[storage]


class PhotoOriginCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if origin := photo_storage_origin():
            update = dict(parts.update or {})
            update["img-src"] = [*update.get("img-src", ()), origin]
            parts.update = update
        return parts
