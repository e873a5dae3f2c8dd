from django.contrib import admin
from django.urls import include, path

from presskit import views

urlpatterns = [
    path("", include("chat.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/ai/logs/", include("resilience.api_urls")),
]
