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

import hashlib
import hmac
import json
import logging
import os
import threading

import httpx2

from presskit.models import Integration, Presskit
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


_clients: dict[int, httpx2.Client] = {}
_clients_lock = threading.Lock()


def _client() -> httpx2.Client:
    """One HTTP client (connection pool, TLS context) per process: building one per send loads
    the CA bundle every time (~25 ms, most of a send's cost in a worker)."""
    with _clients_lock:
        client = _clients.get(os.getpid())  # a forked worker process builds its own
        if client is None:
            client = _clients[os.getpid()] = httpx2.Client()
        return client


def integration_deliver(payload: dict) -> dict:
    """POST the presskit to one integration; raises on a transport error or a status >= 400.
    A service removed or disabled since is not sent to (done, nothing to do)."""
    integration = Integration.objects.filter(name=payload["integration"], enabled=True).first()
    presskit = Presskit.objects.filter(pk=payload["presskit"]).first()
    if integration is None or presskit is None:
        return {"sent": False, "reason": "integration or presskit gone"}
    body = json.dumps({"event": EVENT, "presskit": presskit_document(presskit)}).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": _idempotency_key(payload),
               "User-Agent": "itera-presskit"}
    if integration.secret:
        signature = hmac.new(integration.secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Presskit-Signature"] = f"sha256={signature}"
    timeout = get_breaker(integration.dependency).config.call_timeout
    response = _client().post(integration.url, content=body, headers=headers,
                              timeout=httpx2.Timeout(timeout, connect=min(timeout, 3.0)))
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
