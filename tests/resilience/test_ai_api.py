"""The AI request log's staff JSON API (/api/v1/ai/logs/) and its admin pages: staff get JSON
figures, everyone else a JSON 403, bad parameters a 400, an unknown id a 404; DELETE purges and
stays protected against CSRF."""
from __future__ import annotations

from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from resilience.ai_records import RecoveryStrategy, sha256_hex
from resilience.models import AIErrorPattern, AIRecoveryAttempt, AIRequestLog
from tests.resilience.test_ai_log import build_dataset, record, recovery, write

pytestmark = pytest.mark.django_db

API = "/api/v1/ai/logs/"
CSRF_SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"  # any 32 letters or digits


@pytest.fixture
def dataset():
    return build_dataset()


def log_staff(username: str = "staff"):
    """A staff account allowed to read the AI request log and purge it."""
    user = get_user_model().objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_airequestlog", "delete_airequestlog"]))
    return user


@pytest.fixture
def staff_client(client) -> Client:
    client.force_login(log_staff())
    return client


def every_endpoint(request_id: str = "unknown") -> list[tuple[str, str]]:
    return [
        ("get", f"{API}recent/"),
        ("get", f"{API}statistics/"),
        ("get", f"{API}providers/"),
        ("get", f"{API}errors/top/"),
        ("get", f"{API}requests/slow/"),
        ("get", f"{API}{request_id}/"),
        ("get", f"{API}analysis/summary/"),
        ("get", f"{API}errors/http_429/fix/"),
        ("delete", f"{API}?older_than_days=1"),
    ]


# --- Staff get figures ------------------------------------------------------------------------

def test_recent(staff_client, dataset):
    body = staff_client.get(f"{API}recent/", {"limit": 3}).json()
    assert body["count"] == 3
    assert [row["request_id"] for row in body["results"]] == [dataset[k].request_id for k in ("D3", "D2", "D1")]
    row = body["results"][0]
    assert row["provider"] == "local" and row["status"] == "success" and row["latency_ms"] == 800
    assert datetime.fromisoformat(row["created_at"]).tzinfo is not None
    assert staff_client.get(f"{API}recent/").json()["count"] == 10  # default limit 50


def test_statistics(staff_client, dataset):
    body = staff_client.get(f"{API}statistics/", {"hours": 24}).json()
    assert body["total"] == 9 and body["hours"] == 24 and body["error_rate"] == 0.5556
    assert body["by_status"]["refused"] == 1 and body["fallback_rate"] == 0.5
    assert body["latency_ms"] == {"avg": 1206, "p50": 1000, "p95": 2500}
    assert body["first_token_ms"] == {"avg": 300, "p50": 300, "p95": 500}
    assert (body["tokens_in"], body["tokens_out"]) == (450, 195)
    assert staff_client.get(f"{API}statistics/").json()["hours"] == 24  # the default window
    assert staff_client.get(f"{API}statistics/", {"hours": 48}).json()["total"] == 10


def test_providers(staff_client, dataset):
    body = staff_client.get(f"{API}providers/").json()
    assert [p["provider"] for p in body["providers"]] == ["openai", "anthropic", "local"]
    openai = body["providers"][0]
    assert (openai["requests"], openai["success_rate"], openai["avg_latency_ms"], openai["p95_latency_ms"]) == (
        6, 0.3333, 1070, 2500)
    assert (openai["avg_first_token_ms"], openai["timeouts"], openai["errors"]) == (300, 1, 2)


def test_errors_top(staff_client, dataset):
    body = staff_client.get(f"{API}errors/top/", {"limit": 2, "hours": 24}).json()
    assert [(e["provider"], e["error_code"], e["count"]) for e in body["errors"]] == [
        ("openai", "http_429", 2), ("anthropic", "broken_stream", 1)]


def test_requests_slow(staff_client, dataset):
    body = staff_client.get(f"{API}requests/slow/", {"limit": 2, "hours": 24}).json()
    assert [r["latency_ms"] for r in body["requests"]] == [2500, 2000]


def test_detail(staff_client, dataset):
    body = staff_client.get(f"{API}{dataset['C1'].request_id}/").json()
    assert (body["request_id"], body["status"], body["error_code"]) == (
        dataset["C1"].request_id, "timeout", "timeout_first_token")
    assert [(r["strategy"], r["action"], r["success"]) for r in body["recoveries"]] == [
        ("fallback", "openai -> anthropic", True)]


def test_analysis_summary(staff_client, dataset):
    body = staff_client.get(f"{API}analysis/summary/", {"hours": 24}).json()
    assert set(body) == {"hours", "since", "total", "error_rate", "fallback_rate", "providers", "top_patterns",
                         "recoveries"}
    assert {p["provider"]: p["verdict"] for p in body["providers"]} == {
        "openai": "failing", "anthropic": "failing", "local": "healthy"}
    assert body["top_patterns"][0]["key"] == "openai:http_429"
    assert "Retry-After" in body["top_patterns"][0]["suggested_action"]
    assert {r["strategy"]: r["success_rate"] for r in body["recoveries"]}["retry"] == 0.5


def test_error_fix(staff_client, dataset):
    body = staff_client.get(f"{API}errors/http_429/fix/").json()
    assert body["known"] and body["occurrences"] == 2 and body["patterns"][0]["key"] == "openai:http_429"
    unknown = staff_client.get(f"{API}errors/brand_new/fix/").json()
    assert not unknown["known"] and unknown["occurrences"] == 0


def test_the_api_never_shows_prompt_text(staff_client):
    prompt = "Mi banda se llama Los Ficticios y tocamos jazz manouche"
    sent = record(prompt_sha256=sha256_hex(prompt), prompt_chars=len(prompt))
    write([sent])
    for url in (f"{API}recent/", f"{API}{sent.request_id}/", f"{API}requests/slow/"):
        content = staff_client.get(url).content.decode()
        assert "Ficticios" not in content and sha256_hex(prompt) in content


# --- DELETE purges ----------------------------------------------------------------------------

def test_delete_purges_by_age(staff_client):
    write([record(turn_id="old")], [recovery("old", 1, RecoveryStrategy.RETRY, True, 5)], hours_ago=24 * 10)
    write([record(turn_id="new")])
    response = staff_client.delete(f"{API}?older_than_days=5")
    assert response.status_code == 200 and response.json() == {"deleted": 1}
    assert list(AIRequestLog.objects.values_list("turn_id", flat=True)) == ["new"]
    assert not AIRecoveryAttempt.objects.filter(turn_id="old").exists()


def test_delete_is_protected_against_csrf(dataset):
    client = Client(enforce_csrf_checks=True)
    client.force_login(log_staff())
    url = f"{API}?older_than_days=1"

    response = client.delete(url)
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    assert AIRequestLog.objects.count() == 10

    client.cookies["csrftoken"] = CSRF_SECRET
    response = client.delete(url, headers={"X-CSRFToken": "wrong" * 6 + "ab"})
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    assert AIRequestLog.objects.count() == 10

    response = client.delete(url, headers={"X-CSRFToken": CSRF_SECRET})
    assert response.status_code == 200 and response.json() == {"deleted": 1}
    assert AIRequestLog.objects.count() == 9


def test_reads_need_no_csrf_token(dataset):
    client = Client(enforce_csrf_checks=True)
    client.force_login(log_staff())
    assert client.get(f"{API}statistics/").status_code == 200


# --- Everyone else gets a JSON 403 ------------------------------------------------------------

@pytest.mark.parametrize("who", ["anonymous", "artist", "inactive staff"])
def test_only_staff_reach_the_api(client, dataset, who):
    if who != "anonymous":
        user = get_user_model().objects.create_user(who, password="x", is_staff=who == "inactive staff")
        client.force_login(user)
        if who == "inactive staff":
            user.is_active = False
            user.save()
    for method, url in every_endpoint(dataset["A1"].request_id):
        response = getattr(client, method)(url)
        assert response.status_code == 403, (method, url)
        assert response["Content-Type"] == "application/json" and response.json()["error"], (method, url)
    assert AIRequestLog.objects.count() == 10  # the DELETE deleted nothing


# --- Bad parameters, unknown ids, wrong methods -----------------------------------------------

@pytest.mark.parametrize("url", [
    f"{API}recent/?limit=0", f"{API}recent/?limit=abc", f"{API}recent/?limit=501", f"{API}recent/?limit=-3",
    f"{API}statistics/?hours=0", f"{API}statistics/?hours=745", f"{API}statistics/?hours=1.5",
    f"{API}providers/?hours=x", f"{API}errors/top/?limit=0", f"{API}errors/top/?hours=0",
    f"{API}requests/slow/?limit=x", f"{API}requests/slow/?hours=-1", f"{API}analysis/summary/?hours=99999",
    f"{API}errors/bad-code!/fix/", f"{API}errors/{'x' * 65}/fix/",
])
def test_bad_parameters_get_a_400(staff_client, url):
    response = staff_client.get(url)
    assert response.status_code == 400 and response.json()["error"]


@pytest.mark.parametrize("query", ["", "?older_than_days=", "?older_than_days=0", "?older_than_days=-5",
                                   "?older_than_days=ten"])
def test_delete_needs_a_positive_number_of_days(staff_client, dataset, query):
    response = staff_client.delete(f"{API}{query}")
    assert response.status_code == 400 and "older_than_days" in response.json()["error"]
    assert AIRequestLog.objects.count() == 10


def test_an_unknown_request_id_gets_a_404(staff_client, dataset):
    response = staff_client.get(f"{API}0123456789abcdef0123456789abcdef/")
    assert response.status_code == 404 and "0123456789abcdef" in response.json()["error"]


@pytest.mark.parametrize(("method", "url"), [("post", f"{API}recent/"), ("get", API), ("delete", f"{API}recent/"),
                                             ("put", f"{API}statistics/")])
def test_a_wrong_method_gets_a_405(staff_client, method, url):
    response = getattr(staff_client, method)(url)
    assert response.status_code == 405 and response.json()["error"] and response["Allow"]


# --- Admin pages ------------------------------------------------------------------------------

ADMIN = "/admin/resilience/"


def test_the_request_log_list_shows_the_last_day_figures(admin_client, dataset):
    page = admin_client.get(f"{ADMIN}airequestlog/").content.decode()
    assert 'data-total="9"' in page
    assert "1206 / 1000 / 2500 ms" in page and "300 / 300 / 500 ms" in page  # latency, first token
    assert "450 / 195" in page and "56%" in page and "50%" in page  # tokens, error and fallback rates
    openai_row = page.split('data-provider="openai"')[1].split("</tr>")[0]
    assert "33%" in openai_row and "1070 ms" in openai_row and "2500 ms" in openai_row
    assert 'data-provider="local"' in page
    assert dataset["O1"].request_id in page  # the list itself shows every logged request


def test_the_request_log_list_renders_empty(admin_client):
    page = admin_client.get(f"{ADMIN}airequestlog/").content.decode()
    assert "No hay peticiones de IA en este periodo." in page


def test_the_request_log_list_filters_and_searches(admin_client, dataset):
    assert admin_client.get(f"{ADMIN}airequestlog/", {"status": "timeout"}).status_code == 200
    page = admin_client.get(f"{ADMIN}airequestlog/", {"q": dataset["C1"].request_id}).content.decode()
    assert dataset["C1"].request_id in page and dataset["A1"].request_id not in page
    now = timezone.now()
    assert admin_client.get(f"{ADMIN}airequestlog/", {"created_at__year": now.year}).status_code == 200


def test_logs_and_attempts_are_read_only(admin_client, dataset):
    log = AIRequestLog.objects.get(request_id=dataset["B1"].request_id)
    page = admin_client.get(f"{ADMIN}airequestlog/{log.pk}/change/")
    assert page.status_code == 200 and "http_429" in page.content.decode()
    assert admin_client.get(f"{ADMIN}airequestlog/add/").status_code == 403
    admin_client.post(f"{ADMIN}airequestlog/{log.pk}/change/", {"provider": "changed"})
    assert AIRequestLog.objects.get(pk=log.pk).provider == "openai"
    assert admin_client.get(f"{ADMIN}airequestlog/{log.pk}/delete/").status_code == 403

    attempt = AIRecoveryAttempt.objects.first()
    assert admin_client.get(f"{ADMIN}airecoveryattempt/").status_code == 200
    assert admin_client.get(f"{ADMIN}airecoveryattempt/{attempt.pk}/change/").status_code == 200
    assert admin_client.get(f"{ADMIN}airecoveryattempt/add/").status_code == 403


def test_staff_edit_only_a_patterns_resolution_and_notes(admin_client, dataset):
    pattern = AIErrorPattern.objects.get(key="openai:http_429")
    assert admin_client.get(f"{ADMIN}aierrorpattern/").status_code == 200
    page = admin_client.get(f"{ADMIN}aierrorpattern/{pattern.pk}/change/").content.decode()
    assert "Rate limited" in page
    response = admin_client.post(f"{ADMIN}aierrorpattern/{pattern.pk}/change/", {
        "resolution_status": "resolved", "notes": "Quota raised", "occurrences": 999, "key": "changed",
    })
    assert response.status_code == 302
    pattern.refresh_from_db()
    assert (pattern.resolution_status, pattern.notes) == ("resolved", "Quota raised")
    assert (pattern.occurrences, pattern.key) == (2, "openai:http_429")
    assert admin_client.get(f"{ADMIN}aierrorpattern/add/").status_code == 403


def test_admin_figures_match_the_api(admin_client, dataset):
    api = admin_client.get(f"{API}statistics/").json()  # a superuser is staff
    page = admin_client.get(f"{ADMIN}airequestlog/").content.decode()
    assert f'data-total="{api["total"]}"' in page
    latency = api["latency_ms"]
    assert f'{latency["avg"]} / {latency["p50"]} / {latency["p95"]} ms' in page
    for provider in admin_client.get(f"{API}providers/").json()["providers"]:
        row = page.split(f'data-provider="{provider["provider"]}"')[1].split("</tr>")[0]
        assert f'<td>{provider["requests"]}</td>' in row and f'{provider["p95_latency_ms"]} ms' in row


def test_staff_without_the_log_permissions_are_refused(client, dataset):
    client.force_login(get_user_model().objects.create_user("intern", password="x", is_staff=True))
    assert client.get(f"{API}recent/").status_code == 403
    reader = log_staff("reader")
    reader.user_permissions.remove(Permission.objects.get(codename="delete_airequestlog"))
    client.force_login(reader)
    assert client.get(f"{API}recent/").status_code == 200
    response = client.delete(f"{API}?older_than_days=1")
    assert response.status_code == 403 and "delete_airequestlog" in response.json()["error"]
