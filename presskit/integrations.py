"""Sending a finished presskit to the external integrations staff set up (webhooks of booking
agents, mailing lists). Non-critical: a failing service never holds the artist up.

Each send goes through `integration:<name>`'s breaker with `execute_with_fallback`: a service
that failed INTEGRATION_SKIP_FAILURES times in the last INTEGRATION_SKIP_WINDOW seconds is
skipped, and a send that fails or is skipped waits in the queue (low priority) until a worker
delivers it. Every send carries an `Idempotency-Key` (the same for every try of the same
presskit version), so a receiver can ignore a repeat: a worker killed after the POST but before
recording it sends it again with the same key.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time

import httpx2

from presskit.models import Integration, Presskit
from presskit.webhooks import WebhookUnreachable, destination_resolve, secret_open, signature_headers
from resilience.breakers import get_breaker
from resilience.fallbacks import FallbackPlan, FallbackResult, execute_with_fallback
from resilience.queue import JobRequest, JobType, Priority, job_enqueue

logger = logging.getLogger(__name__)

JOB_TYPE = "presskit.integration_sync"
EVENT = "presskit.completed"


def presskit_document(presskit: Presskit) -> dict:
    """The presskit as the outside world sees it (no internal fields)."""
    return {
        "id": str(presskit.pk),
        "artist_name": presskit.artist_name,
        "genres": presskit.genres,
        "experience": presskit.experience,
        "location": presskit.location,
        "story": presskit.story,
        "links": presskit.links,
        "booking_email": presskit.booking_email,
        "short_bio": presskit.short_bio,
        "long_bio": presskit.long_bio,
        "updated_at": presskit.updated_at.isoformat(),
    }


def _idempotency_key(payload: dict) -> str:
    return f"sync:{payload['integration']}:{payload['presskit']}:{payload['version']}"


_clients: dict[tuple[int, str], httpx2.Client] = {}
_clients_lock = threading.Lock()


def _client(server_name: str) -> httpx2.Client:
    """One HTTP client (connection pool, TLS context) per process and receiver name: building one
    per send loads the CA bundle every time (~25 ms, most of a send's cost in a worker). Per name
    because the URL holds the checked address: a pool shared by two names on one address would
    reuse a connection whose certificate was checked for the other. No proxy from the
    environment: the connection goes to the address presskit.webhooks checked."""
    key = (os.getpid(), server_name)  # a forked worker process builds its own
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = httpx2.Client(trust_env=False, follow_redirects=False)
        return client


def delivery_body(presskit: Presskit, key: str) -> bytes:
    """The signed body: the idempotency key is inside it, so a receiver's de-duplication key is
    covered by the signature."""
    return json.dumps({"event": EVENT, "delivery": key, "presskit": presskit_document(presskit)}).encode()


def integration_deliver(payload: dict) -> dict:
    """POST the presskit to one integration; raises WebhookUnreachable (whatever kept it from
    being reached) or on a status >= 400 (a redirect too: never followed). A service removed or
    disabled since is not sent to (done, nothing to do). Every try is signed afresh: a retry
    hours later carries a current timestamp."""
    integration = Integration.objects.filter(name=payload["integration"], enabled=True).first()
    presskit = Presskit.objects.filter(pk=payload["presskit"]).first()
    if integration is None or presskit is None:
        return {"sent": False, "reason": "integration or presskit gone"}
    key = _idempotency_key(payload)
    body = delivery_body(presskit, key)
    headers = {"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": "itera-presskit"}
    if secret := secret_open(integration.secret_sealed):
        headers.update(signature_headers(secret, int(time.time()), body))
    timeout = get_breaker(integration.dependency).config.call_timeout
    try:
        destination = destination_resolve(integration.url)
        response = _client(destination.server_name).post(destination.url, content=body, headers={**headers, **destination.headers},
                                  extensions=destination.extensions,
                                  timeout=httpx2.Timeout(timeout, connect=min(timeout, 3.0)))
    except (WebhookUnreachable, httpx2.TransportError) as error:
        # The operator's log says why; the job page (describe_error) only that it was not reached.
        logger.warning("integration %s not reached: %s", integration.name, error)
        raise WebhookUnreachable() from None
    response.raise_for_status()
    return {"sent": True, "status": response.status_code}


def _sent(payload: dict, value: dict) -> dict:
    """What the job records: sent (with the status) or not needed any more."""
    return value


INTEGRATION_SYNC = JobType(name=JOB_TYPE, run=integration_deliver, apply=_sent, dependency="integration",
                           priority=Priority.LOW, skippable=True)


def _requests(presskit_id: str, version: str, delay: float = 0.0) -> list[tuple[Integration, JobRequest]]:
    requests = []
    for integration in Integration.objects.filter(enabled=True):
        payload = {"integration": integration.name, "presskit": str(presskit_id), "version": version}
        requests.append((integration, JobRequest(JOB_TYPE, payload, _idempotency_key(payload),
                                                 owner=f"presskit:{presskit_id}", dependency=integration.dependency,
                                                 delay=delay)))
    return requests


def integrations_enqueue(*, presskit_id: str, version: str, delay: float = 0.0) -> None:
    """Queue a send of this presskit version to every enabled integration, due in `delay`
    seconds. Called in the transaction that finishes the presskit: whatever happens to the
    process next, the send is not lost (and `integrations_sync` of the same version takes it)."""
    for _, request in _requests(presskit_id, version, delay):
        job_enqueue(request)


def integrations_sync(*, presskit_id: str, version: str | None = None) -> dict[str, FallbackResult]:
    """Send the presskit to every enabled integration now; what could not be sent is queued.
    `version` names what is sent (the same version is sent once; default: the presskit's last
    change). Returns each integration's outcome by name. Blocking: call it from a worker thread."""
    presskit = Presskit.objects.get(pk=presskit_id)
    results = {}
    for integration, request in _requests(str(presskit.pk), version or presskit.updated_at.isoformat()):
        try:
            results[integration.name] = execute_with_fallback(
                lambda payload=request.payload: integration_deliver(payload), dependency=integration.dependency,
                plan=FallbackPlan(allow_skip=True, queue=request))
        except Exception:  # one integration's trouble (its job is written first) must not stop the rest
            logger.exception("integration %s not synced (presskit %s)", integration.name, presskit.pk)
    return results
