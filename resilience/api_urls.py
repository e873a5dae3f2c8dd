"""The staff JSON API of the AI request log; the project mounts it at /api/v1/ai/logs/."""
from django.urls import path

from resilience import api

app_name = "ai_logs"

urlpatterns = [
    path("", api.logs_collection, name="collection"),  # DELETE ?older_than_days=N
    path("recent/", api.logs_recent, name="recent"),
    path("statistics/", api.logs_statistics, name="statistics"),
    path("providers/", api.logs_providers, name="providers"),
    path("errors/top/", api.logs_errors_top, name="errors-top"),
    path("errors/<str:code>/fix/", api.logs_error_fix, name="error-fix"),
    path("requests/slow/", api.logs_requests_slow, name="requests-slow"),
    path("analysis/summary/", api.logs_analysis_summary, name="analysis-summary"),
    # Last: a request id is any other single segment.
    path("<str:request_id>/", api.logs_detail, name="detail"),
]
