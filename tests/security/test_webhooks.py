"""Webhooks staff type in: never sent to internal addresses (SSRF), without telling a refused
address from a closed port; signed with a timestamp so a captured request cannot be replayed;
the secret write-only in the admin and sealed in the database. Through the staff's door (the
admin) and the worker's (the queued send), against a real receiver on loopback."""
from __future__ import annotations

import socket
import time
import uuid

import httpx
import pytest
from django.utils import timezone

from presskit.integrations import integrations_sync
from presskit.models import Integration
from presskit.webhooks import secret_open, secret_seal
from resilience import queue
from resilience.models import QueuedJob
from tests.queue_worker.stack import presskit_create
from tests.servers import free_local_port
from tests.webhook_receiver import RECEIVER_NETWORK, WebhookReceiver

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"


@pytest.fixture
def receiver(settings):
    settings.RESILIENCE_KEY_PREFIX = f"test-webhooks-{uuid.uuid4().hex[:12]}"
    with WebhookReceiver(secret=SECRET) as server:
        yield server


def send(url: str) -> QueuedJob:
    """The presskit sent to one integration at `url` (saved as a worker finds it: no form check)."""
    Integration.objects.create(name="booking", label="Booking", url=url, secret_sealed=secret_seal(SECRET))
    presskit = presskit_create()
    integrations_sync(presskit_id=str(presskit.pk))
    return QueuedJob.objects.get(owner=f"presskit:{presskit.pk}")


def add_form(url: str, **fields: str) -> dict:
    return {"name": "booking", "label": "Booking", "url": url, "enabled": "on", **fields}


# --- SSRF ------------------------------------------------------------------------------------------
INTERNAL = ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:6379/", "http://[::1]:8200/",
            "http://10.0.0.7/hook", "http://192.168.1.1/", "http://[::ffff:127.0.0.1]/", "http://localhost:8000/",
            "http://0.0.0.0/", "http://100.64.0.1/",
            # IPv6 forms that carry or lead to an internal IPv4 address, and old site-local space
            "http://[64:ff9b::a9fe:a9fe]/", "http://[::7f00:1]/", "http://[2002:7f00:1::]/", "http://[fec0::1]/"]


@pytest.mark.parametrize("url", [*INTERNAL, "ftp://example.com/hook", "file:///etc/passwd",
                                 "https://user:pass@hooks.example.com/p"])
def test_staff_cannot_save_a_webhook_to_an_internal_address_or_another_scheme(admin_client, url):
    page = admin_client.post("/admin/presskit/integration/add/", add_form(url))
    assert page.status_code == 200 and not Integration.objects.exists()
    assert "errors field-url" in page.content.decode()  # the URL is what is refused


def test_an_allowed_internal_network_can_be_saved(admin_client, settings):
    settings.INTEGRATION_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    page = admin_client.post("/admin/presskit/integration/add/", add_form("http://10.0.0.7/hook"))
    assert page.status_code == 302 and Integration.objects.get().url == "http://10.0.0.7/hook"


def test_a_name_that_resolves_to_loopback_is_not_sent_to(receiver):
    """Saved under a name (the admin cannot know what it resolves to): refused when sent."""
    job = send(receiver.url.replace("127.0.0.1", "localhost"))
    assert receiver.deliveries() == []
    assert job.status == "failed" and job.last_error == "WebhookUnreachable"


def test_a_refused_address_and_a_closed_port_look_the_same_to_staff(receiver, settings):
    """No port map from the job page: a refused address, a closed allowed port and an open
    refused one all read "WebhookUnreachable"."""
    refused_open = send(receiver.url)  # the receiver listens, but loopback is not allowed
    Integration.objects.all().delete()
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    closed = send(f"http://127.0.0.1:{free_local_port()}/hook")
    assert receiver.deliveries() == []
    assert refused_open.last_error == closed.last_error == "WebhookUnreachable"


@pytest.fixture
def resolver(monkeypatch):
    """Names resolved as a DNS server would answer them: `answers[name]` (every other name as
    the system resolves it); `asked` counts the lookups."""
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {}
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected_to(receiver, settings, resolver):
    """No second lookup a rebinding DNS server could answer differently; the receiver still
    knows itself by its name (Host)."""
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    answers, asked = resolver
    answers["hooks.test"] = ["127.0.0.1"]
    port = receiver.url.split(":")[2].split("/")[0]
    job = send(f"http://hooks.test:{port}/hook")
    [delivery] = receiver.deliveries()
    assert job.status == "done" and delivery.headers["host"] == f"hooks.test:{port}"
    assert asked == ["hooks.test"]


def test_a_name_with_one_internal_address_among_public_ones_is_refused(receiver, resolver):
    answers, _ = resolver
    answers["mixed.test"] = ["93.184.215.14", "10.0.0.7"]
    job = send("http://mixed.test/hook")
    assert job.last_error == "WebhookUnreachable"


@pytest.mark.parametrize("url", ["http://hooks.example.com:99999/p", "http://[::1/p"])
def test_a_url_no_send_can_use_is_unreachable_not_a_crash(receiver, url):
    assert send(url).last_error == "WebhookUnreachable"


def test_an_international_name_is_sent_to_as_its_ascii_form(receiver, settings, resolver):
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    answers, _ = resolver
    ascii_name = "ñandú.test".encode("idna").decode()
    answers[ascii_name] = ["127.0.0.1"]
    port = receiver.url.split(":")[2].split("/")[0]
    assert send(f"http://ñandú.test:{port}/hook").status == "done"
    assert receiver.deliveries()[0].headers["host"] == f"{ascii_name}:{port}"


def test_a_redirect_to_an_internal_address_is_not_followed(receiver, settings):
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    with WebhookReceiver() as metadata:  # where a followed redirect would land instead
        receiver.redirect(metadata.url)
        job = send(receiver.url)
        assert metadata.deliveries() == []
    assert len(receiver.deliveries()) == 1
    assert job.status == "failed" and job.last_error == "HTTPStatusError (HTTP 302)"


# --- Signing -------------------------------------------------------------------------------------
@pytest.fixture
def delivered(receiver, settings):
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    job = send(receiver.url)
    [delivery] = receiver.deliveries()
    assert job.status == "done" and delivery.verified and delivery.applied
    return delivery


def replay(receiver: WebhookReceiver, delivery, *, body: bytes | None = None, **headers: str) -> int:
    """What an attacker who captured the request does: send it again."""
    sent = {name: value for name, value in delivery.headers.items() if name not in ("host", "content-length")}
    return httpx.post(receiver.url, content=delivery.body if body is None else body,
                      headers={**sent, **headers}).status_code


def test_a_replay_within_the_tolerance_is_not_applied_twice(receiver, delivered):
    assert replay(receiver, delivered) == 200
    assert receiver.applied == {delivered.key: 1}


def test_a_replay_after_five_minutes_is_refused(receiver, delivered):
    receiver.advance(301)
    assert replay(receiver, delivered) == 401
    assert receiver.applied == {delivered.key: 1}


def test_a_forged_timestamp_or_a_changed_body_is_refused(receiver, delivered):
    receiver.advance(3600)
    later = str(int(delivered.headers["x-presskit-timestamp"]) + 3600)
    assert replay(receiver, delivered, **{"x-presskit-timestamp": later}) == 401
    receiver.advance(-3600)
    tampered = delivered.body.replace(b"Luna Roja", b"Otra Gente")
    assert replay(receiver, delivered, body=tampered) == 401
    other_key = delivered.key + "-again"  # a new key to slip past de-duplication
    assert replay(receiver, delivered, **{"idempotency-key": other_key}) == 401
    assert receiver.applied == {delivered.key: 1}


def test_each_try_is_signed_when_it_is_sent(receiver, settings):
    """A queued retry (hours later, in production) carries its own timestamp, not the first try's."""
    settings.INTEGRATION_ALLOWED_NETWORKS = [RECEIVER_NETWORK]
    receiver.fail(503, times=1)
    job = send(receiver.url)
    assert job.status == "failed"
    time.sleep(1.1)  # timestamps are whole seconds
    QueuedJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    assert queue.job_run(job.pk) == "done"
    first, retry = receiver.deliveries()
    assert first.verified and retry.verified and retry.applied
    assert int(retry.headers["x-presskit-timestamp"]) > int(first.headers["x-presskit-timestamp"])


# --- The secret in the admin ---------------------------------------------------------------------
def test_the_secret_is_write_only_and_sealed(admin_client):
    page = admin_client.post("/admin/presskit/integration/add/",
                             add_form("https://hooks.example.com/p", new_secret="typed-by-staff"))
    assert page.status_code == 302
    integration = Integration.objects.get()
    assert "typed-by-staff" not in integration.secret_sealed and secret_open(integration.secret_sealed) == "typed-by-staff"

    form = admin_client.get(f"/admin/presskit/integration/{integration.pk}/change/").content.decode()
    assert "typed-by-staff" not in form and integration.secret_sealed not in form

    # Saved again without a new secret: kept. Removed on request.
    admin_client.post(f"/admin/presskit/integration/{integration.pk}/change/", add_form(integration.url))
    assert secret_open(Integration.objects.get().secret_sealed) == "typed-by-staff"
    admin_client.post(f"/admin/presskit/integration/{integration.pk}/change/",
                      add_form(integration.url, remove_secret="on"))
    assert Integration.objects.get().secret_sealed == ""


def test_rotating_shows_the_new_secret_once(admin_client):
    integration = Integration.objects.create(name="booking", label="Booking", url="https://hooks.example.com/p",
                                             secret_sealed=secret_seal("old"))
    page = admin_client.post("/admin/presskit/integration/", {"action": "rotate_secret",
                                                              "_selected_action": [integration.pk]}, follow=True)
    new = secret_open(Integration.objects.get().secret_sealed)
    assert new != "old" and len(new) >= 40
    assert new in page.content.decode()
    assert new not in admin_client.get("/admin/presskit/integration/").content.decode()
    assert new not in admin_client.get(f"/admin/presskit/integration/{integration.pk}/change/").content.decode()


def test_a_secret_sealed_under_a_former_key_still_signs(settings):
    sealed = secret_seal("kept")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert secret_open(sealed) == "kept"
