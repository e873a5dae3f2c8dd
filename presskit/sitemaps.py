"""sitemap.xml: the public pages their artists chose to show to search engines (Presskit.listed)."""
from __future__ import annotations

from datetime import datetime

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from presskit.models import Presskit

Page = tuple[str, datetime]  # the slug, and when its public version was published


class PublicPageSitemap(Sitemap):
    """Listed, published and not taken down: /p/<slug>/ and its public version's date. Only
    slugs and dates are read, never a version's document (nothing the artist wrote goes in).
    The sitemap view takes the host and scheme from the request: no sites framework."""

    def items(self) -> QuerySet:
        return (Presskit.objects.filter(listed=True, taken_down_at=None, published_version__isnull=False)
                .order_by("slug")  # stable pages (?p=) while pages are published
                .values_list("slug", "published_version__published_at"))

    def location(self, item: Page) -> str:
        return reverse("public_page", args=[item[0]])

    def lastmod(self, item: Page) -> datetime:
        return item[1]


SITEMAPS = {"presskits": PublicPageSitemap}
