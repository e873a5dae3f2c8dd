"""Security headers (issue: "a strict Content-Security-Policy, HSTS, SSL redirect and the proxy SSL
header from settings; `check --deploy` clean with the production settings the README gives").
The policy is on every page that sets none of its own, and nothing we serve needs it loosened:
no inline script, style or event handler on the chat, the status page or the admin. The
production settings are read from the README and applied in a subprocess, as an operator would."""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import yaml
from django.contrib.auth import get_user_model

from presskit.views import PUBLIC_CSP
from resilience import degradation
from resilience.degradation import Level, degradation_force
from resilience.models import QueuedJob
from tests.servers import REPO

pytestmark = pytest.mark.django_db(transaction=True)

APP_POLICY = {
    "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"], "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"], "object-src": ["'none'"], "base-uri": ["'none'"], "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy_of(response) -> dict[str, list[str]]:
    directives = (part.split() for part in response["Content-Security-Policy"].split(";") if part.strip())
    return {name: sources for name, *sources in directives}


class InlineCode(HTMLParser):
    """What a strict policy blocks: inline scripts (data blocks such as JSON-LD are not run),
    <style> elements, style attributes and on… event handler attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/ld+json":
            self.found.append(self.get_starttag_text())
        if tag == "style" or "style" in attributes or any(name.startswith("on") for name in attributes):
            self.found.append(self.get_starttag_text())


def assert_strict_and_clean(response) -> None:
    assert response.status_code == 200, response.status_code
    assert policy_of(response) == APP_POLICY
    assert InlineCode(response.content.decode()).found == []


def test_the_chat_page_has_the_strict_policy_over_plain_http_by_default(client):
    response = client.get("/")  # `make run`: http://localhost, no redirect, no HSTS
    assert_strict_and_clean(response)
    assert "Strict-Transport-Security" not in response


def test_htmx_is_told_not_to_inject_its_indicator_style_nor_to_run_code_from_the_page(client):
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', client.get("/").content.decode())
    assert json.loads(meta.group(1)) == {"includeIndicatorStyles": False, "allowEval": False, "allowScriptTags": False}


def test_the_status_page_polls_readiness_from_a_script_file(client, settings):
    settings.RESILIENCE_KEY_PREFIX = f"test-headers-{secrets.token_hex(5)}"
    degradation.reset_manager()
    try:
        degradation_force(level=Level.EMERGENCY, reason="incident")
        response = client.get("/")
    finally:
        degradation.reset_manager()
    page = response.content.decode()
    assert response.status_code == 503
    assert policy_of(response) == APP_POLICY
    assert InlineCode(page).found == []
    assert re.search(r'<script src="/static/js/status\.[0-9a-f]+\.js" defer>', page)
    assert 'data-ready-url="/readyz"' in page


def test_the_admin_works_under_the_same_policy(client):
    assert_strict_and_clean(client.get("/admin/login/"))
    client.force_login(get_user_model().objects.create_superuser("staff", password="x"))
    job = QueuedJob.objects.create(job_type="test.headers", payload={}, dependency="test-dep",
                                   idempotency_key="headers-1")
    for path in ("/admin/", "/admin/resilience/servicestatus/", "/admin/resilience/circuitbreakerentry/",
                 "/admin/resilience/queuedjob/", f"/admin/resilience/queuedjob/{job.pk}/change/",
                 "/admin/resilience/airequestlog/", "/admin/presskit/presskit/"):
        response = client.get(path)
        assert_strict_and_clean(response)


def test_the_photo_storage_origin_is_allowed_for_images_when_it_is_elsewhere(client, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "photos": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path), "base_url": "https://photos.example.net/presskit/"}}}
    assert policy_of(client.get("/"))["img-src"] == ["'self'", "data:", "https://photos.example.net"]


def test_the_public_presskit_keeps_its_own_stricter_policy(client):
    response = client.get("/p/nobody-zzzz/")
    assert response.status_code == 404
    assert response["Content-Security-Policy"] == PUBLIC_CSP.format(photo_origin="")


def test_probes_and_scrapes_stay_on_plain_http_when_everything_else_is_redirected(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/")["Location"] == "https://testserver/"
    for path in ("/healthz", "/readyz", "/metrics"):  # load balancers and Prometheus inside the network
        assert client.get(path).status_code == 200, path


# Production settings, from the README ---------------------------------------------------------------
def readme_production_env() -> dict[str, str]:
    """The README's production settings, with a fresh random value for each `<…>` placeholder."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"### Production settings\n.*?```sh\n(.*?)```", readme, re.S).group(1)
    pairs = (line.split("=", 1) for line in block.splitlines() if line.strip() and not line.startswith("#"))
    return {name: secrets.token_urlsafe(50) if value.startswith("<") else value for name, value in pairs}


def run_with_production_env(*args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], **readme_production_env()}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.subprocess
def test_check_deploy_is_clean_with_the_readme_production_settings():
    env = readme_production_env()
    assert len(env["SECRET_KEY"]) >= 50 and env["DEBUG"] == "false"
    result = run_with_production_env("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


PRODUCTION_REQUESTS = """
import json
from django.test import Client

browser = Client(HTTP_HOST="presskit.example.com")
def seen(path, **headers):
    response = browser.get(path, **headers)
    return [response.status_code, response.get("Location"), response.get("Strict-Transport-Security")]
print(json.dumps({
    "chat over http": seen("/"),
    "probe over http": seen("/healthz"),
    "probe through the TLS proxy": seen("/healthz", HTTP_X_FORWARDED_PROTO="https"),
}))
"""


@pytest.mark.subprocess
def test_with_the_production_settings_http_is_redirected_except_probes_and_https_gets_hsts():
    result = run_with_production_env("shell", "-c", PRODUCTION_REQUESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "chat over http": [301, "https://presskit.example.com/", None],
        "probe over http": [200, None, None],
        "probe through the TLS proxy": [200, None, "max-age=31536000; includeSubDomains; preload"],
    }


def test_the_compose_stack_trusts_the_scheme_header_that_its_nginx_sets_on_every_route():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert compose["services"]["web"]["environment"]["SECURE_PROXY_SSL_HEADER"] == "true"
    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    locations = re.findall(r"location [^{]+\{(.*?)\n    \}", nginx, re.S)
    assert len(locations) == 2 and all("proxy_set_header X-Forwarded-Proto $scheme;" in body for body in locations)
