from django.contrib import admin
from django.urls import include, path

from presskit import views

urlpatterns = [
    path("", include("chat.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    # The default (filesystem) photo storage's base_url: see views.photo_file.
    path("media/photos/<path:name>", views.photo_file, name="photo_file"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/ai/logs/", include("resilience.api_urls")),
]
