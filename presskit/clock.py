"""Today's date as the published pages see it: upcoming dates are those from today on.

Operators and tests may pin it (settings.PRESSKIT_TODAY, "YYYY-MM-DD") to see a page as it will
look on another day; otherwise it is the local date of TIME_ZONE.
"""
from __future__ import annotations

from datetime import date

from django.conf import settings
from django.utils import timezone


def today() -> date:
    if pinned := settings.PRESSKIT_TODAY:
        return date.fromisoformat(pinned)
    return timezone.localdate()
