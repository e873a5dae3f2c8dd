from django.contrib import admin
from django.urls import include, path

from presskit import views

urlpatterns = [
    path("", include("chat.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    # The default (filesystem) photo storage's base_url: see views.photo_file.
    path("media/photos/<path:name>", views.photo_file, name="photo_file"),
    # The published presskit (DESIGN.md, "Contracts").
    path("p/<slug:slug>/", views.public_page, name="public_page"),
    path("p/<slug:slug>.pdf", views.public_pdf, name="public_pdf"),
    path("p/<slug:slug>.json", views.public_json, name="public_json"),
    path("p/<slug:slug>.zip", views.public_zip, name="public_zip"),
    path("p/<slug:slug>/count", views.public_count, name="public_count"),
    path("p/<slug:slug>/rider.pdf", views.public_rider, name="public_rider"),
    path("p/<slug:slug>/fotos/<int:number>", views.public_photo, name="public_photo"),
    # For crawlers: the listed pages (Presskit.listed), and what not to visit.
    path("sitemap.xml", views.sitemap_xml, name="sitemap"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/ai/logs/", include("resilience.api_urls")),
]
