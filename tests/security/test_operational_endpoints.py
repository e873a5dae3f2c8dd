"""Who may read /metrics and the details of /readyz (issue: "/metrics and /readyz are public":
integration names, volumes, forced flags, exception class names, and database and Redis work on
every hit). /metrics: the bearer token (METRICS_TOKEN) or an address in METRICS_ALLOWED_NETWORKS,
else 403 before any work. /readyz: a minimal answer for anyone (the same 200/503 a load
balancer needs), the details for the token or staff."""
from __future__ import annotations

import ipaddress
import uuid

import pytest
from django.contrib.auth import get_user_model

from resilience import degradation
from resilience.degradation import Level, degradation_force
from resilience.health import ComponentHealth

pytestmark = pytest.mark.django_db

TOKEN = "a-long-random-metrics-token"
OUTSIDE = "203.0.113.7"  # TEST-NET-3: an address no allowlist here holds
CHECKED: list[str] = []


def counted_database() -> ComponentHealth:
    CHECKED.append("database")
    return ComponentHealth("database", True, "SELECT 1 ok")


def counted_redis() -> ComponentHealth:
    CHECKED.append("redis")
    return ComponentHealth("redis", True, "PING ok")


@pytest.fixture(autouse=True)
def operator_settings(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.RESILIENCE_KEY_PREFIX = f"test-operators-{uuid.uuid4().hex[:10]}"  # levels forced here stay here
    settings.DEGRADATION_HEALTH_CHECKS = {"database": f"{__name__}.counted_database",
                                          "redis": f"{__name__}.counted_redis"}
    CHECKED.clear()
    degradation.reset_manager()
    yield
    degradation.reset_manager()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# /metrics -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, bearer("wrong"), bearer(""), {"authorization": TOKEN}, bearer(TOKEN + "x")])
def test_metrics_are_refused_from_outside_without_the_token_and_without_any_work(client, headers,
                                                                                 django_assert_num_queries):
    with django_assert_num_queries(0):  # a scrape counts the queued jobs in the database
        response = client.get("/metrics", headers=headers, REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 403
    assert b"circuit_breaker" not in response.content and b"queued_jobs" not in response.content


def test_metrics_are_served_to_the_token_from_anywhere(client):
    for authorization in (f"Bearer {TOKEN}", f"bearer {TOKEN}"):
        response = client.get("/metrics", headers={"authorization": authorization}, REMOTE_ADDR=OUTSIDE)
        assert response.status_code == 200
        assert b"degradation_level" in response.content


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_metrics_are_served_to_loopback_by_default_so_a_local_prometheus_and_make_run_work(client, address):
    response = client.get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 200
    assert b"degradation_level" in response.content


def test_the_allowed_networks_are_the_operators_and_no_token_means_none_is_accepted(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.20.0.0/16")]
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", headers=bearer(""), REMOTE_ADDR=OUTSIDE).status_code == 403


# /readyz --------------------------------------------------------------------------------------------
def test_readyz_tells_anyone_only_whether_to_route_here_without_checking_the_dependencies(client):
    response = client.get("/readyz", REMOTE_ADDR=OUTSIDE)
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
    degradation_force(level=Level.DEGRADED, reason="staff")
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
    degradation_force(level=Level.EMERGENCY, reason="incident")
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (503, {"status": "not_ready"})
    assert CHECKED == []  # the database and Redis checks are for the details only


def test_readyz_details_are_for_the_token(client):
    degradation_force(level=Level.EMERGENCY, reason="incident")
    response = client.get("/readyz", headers=bearer(TOKEN), REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "level": "emergency", "forced": True, "components": [
        {"name": "database", "ok": True, "detail": "SELECT 1 ok"},
        {"name": "redis", "ok": True, "detail": "PING ok"},
    ]}
    assert sorted(CHECKED) == ["database", "redis"]  # run concurrently
    assert client.get("/readyz", headers=bearer("wrong")).json() == {"status": "not_ready"}


def test_readyz_details_are_for_staff_not_for_any_signed_in_user(client):
    users = get_user_model().objects
    client.force_login(users.create_user("artist", password="x"))
    assert client.get("/readyz").json() == {"status": "ready"}
    client.force_login(users.create_user("operator", password="x", is_staff=True))
    body = client.get("/readyz").json()
    assert (body["status"], body["level"]) == ("ready", "optimal")
    assert [component["name"] for component in body["components"]] == ["database", "redis"]
