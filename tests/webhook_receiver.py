"""A real HTTP server standing in for an integration's webhook (a booking agent, a mailing list),
with faults injected at run time. Used by the queue tests and by bench/drain.py.

    with WebhookReceiver(secret="s3cret") as receiver:  # checks signatures as the README says
        receiver.fail(503, times=2)         # the next two requests get a 503
        receiver.redirect("http://169.254.169.254/")  # every answer is a 302 there
        receiver.hang(times=1, apply_first=True)  # apply, then hold the answer (lost reply)
        receiver.latency(0.2)               # every answer waits 0.2 s
        receiver.clear()                    # healthy again (hung requests are released)

It records every request (times, headers, body, what it answered) and applies a delivery the
way a well-behaved receiver does: once per `Idempotency-Key`. A repeated key is acknowledged
(200) but not applied again, so `applied` counts effects and `seen` counts deliveries. Given a
secret, it checks each request the way the README tells receivers to ("Receiving webhooks"):
a bad signature, a timestamp more than five minutes off its clock (a replay of a captured
request), or a delivery key other than the body's, and it answers 401 without applying.
`advance(seconds)` moves its clock, to replay a request "later".
"""
from __future__ import annotations

import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from presskit.webhooks import SIGNATURE_TOLERANCE_SECONDS, signature_of

RECEIVER_NETWORK = "127.0.0.0/8"  # where it listens: an internal network the tests allow
HANG_TIMEOUT = 30.0  # seconds a hung request is held at most when nobody releases it


@dataclass
class Delivery:
    """One request as the receiver saw it."""

    at: float  # wall clock (time.time()) when it arrived
    at_monotonic: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # what it answered (None: no answer, e.g. the client went away)
    applied: bool = False
    verified: bool = False  # signed with the receiver's secret, in time, for the key it carries

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")

    def json(self) -> dict:
        return json.loads(self.body)

    def check(self, secret: str, now: float) -> bool:
        """The receiver's check (README, "Receiving webhooks")."""
        try:
            timestamp = int(self.headers.get("x-presskit-timestamp", ""))
            delivery_key = self.json().get("delivery")
        except ValueError:
            return False
        expected = "sha256=" + signature_of(secret, timestamp, self.body)
        return (hmac.compare_digest(self.headers.get("x-presskit-signature", "").encode(), expected.encode())
                and abs(now - timestamp) <= SIGNATURE_TOLERANCE_SECONDS and delivery_key == self.key)


@dataclass
class _Faults:
    status: int | None = None
    status_left: int | None = None  # None: until cleared
    hang_left: int = 0
    hang_apply_first: bool = False
    hang_timeout: float = HANG_TIMEOUT
    latency: float = 0.0
    redirect_to: str | None = None
    release: threading.Event = field(default_factory=threading.Event)


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, keep_bodies: bool = True,
                 secret: str | None = None) -> None:
        self.keep_bodies = keep_bodies  # the bench turns it off: 10,000 bodies are not needed
        self.secret = secret
        self.clock_offset = 0.0
        self._lock = threading.Lock()
        self._faults = _Faults()
        self.requests: list[Delivery] = []
        self.applied: Counter[str] = Counter()  # key -> times applied (a well-behaved receiver: 1)
        self.applied_at: dict[str, float] = {}  # key -> wall clock when applied
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    # Lifecycle --------------------------------------------------------------------------------
    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.clear()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    # Faults -----------------------------------------------------------------------------------
    def fail(self, status: int = 503, *, times: int | None = None) -> None:
        """Answer `status` (not applied) to the next `times` requests, or until `clear()`."""
        with self._lock:
            self._faults.status, self._faults.status_left = status, times

    def hang(self, *, times: int = 1, apply_first: bool = False, timeout: float = HANG_TIMEOUT) -> None:
        """Hold the next `times` requests until `release()` or `timeout`, then answer normally.
        With `apply_first` the delivery is applied before the hold: the effect happened, the
        answer is late (or never arrives when the client dies meanwhile)."""
        with self._lock:
            self._faults.hang_left, self._faults.hang_apply_first = times, apply_first
            self._faults.hang_timeout = timeout
            self._faults.release = threading.Event()

    def redirect(self, location: str) -> None:
        """Answer every request with a 302 to `location` (a receiver gone bad)."""
        with self._lock:
            self._faults.redirect_to = location

    def advance(self, seconds: float) -> None:
        """Move the receiver's clock on (a request replayed that much later)."""
        self.clock_offset += seconds

    def latency(self, seconds: float) -> None:
        with self._lock:
            self._faults.latency = seconds

    def release(self) -> None:
        """Let every hung request go."""
        self._faults.release.set()

    def clear(self) -> None:
        with self._lock:
            self.release()
            self._faults = _Faults()

    # What it saw ------------------------------------------------------------------------------
    def seen(self, key: str) -> int:
        """How many requests carried this key (deliveries, repeats included)."""
        with self._lock:
            return sum(1 for delivery in self.requests if delivery.key == key)

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self.requests)

    def wait_for(self, predicate, timeout: float = 20.0, interval: float = 0.05) -> None:
        """Wait until `predicate(self)` holds; AssertionError with what was seen otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(interval)
        raise AssertionError(f"receiver: condition not met within {timeout} s; "
                             f"{len(self.requests)} requests, {len(self.applied)} keys applied")

    # The server -------------------------------------------------------------------------------
    def _decide(self) -> tuple[str, int | None, float, _Faults]:
        """What to do with the request that just arrived: ("status", code) / ("hang", …) / ("ok", …)."""
        with self._lock:
            faults = self._faults
            if faults.redirect_to:
                return "redirect", 302, faults.latency, faults
            if faults.hang_left > 0:
                faults.hang_left -= 1
                return "hang", None, faults.latency, faults
            if faults.status is not None:
                code = faults.status
                if faults.status_left is not None:
                    faults.status_left -= 1
                    if faults.status_left <= 0:
                        faults.status, faults.status_left = None, None
                return "status", code, faults.latency, faults
            return "ok", None, faults.latency, faults

    def _apply(self, delivery: Delivery) -> bool:
        """Apply once per key; True when this delivery took effect."""
        with self._lock:
            key = delivery.key
            if key is not None and self.applied[key]:
                return False
            self.applied[key or f"no-key-{len(self.requests)}"] += 1
            self.applied_at[key or f"no-key-{len(self.requests)}"] = time.time()
            delivery.applied = True
            return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real webhooks do
            # Headers and body leave in one packet: no Nagle / delayed-ACK stall of ~40 ms
            # on a kept-alive connection.
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                arrived, arrived_monotonic = time.time(), time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = Delivery(arrived, arrived_monotonic, self.path,
                                    {name.lower(): value for name, value in self.headers.items()},
                                    body if receiver.keep_bodies else b"")
                if receiver.secret is not None:
                    delivery.verified = delivery.check(receiver.secret, time.time() + receiver.clock_offset)
                with receiver._lock:
                    receiver.requests.append(delivery)
                if receiver.secret is not None and not delivery.verified:
                    self._answer(delivery, 401, {"error": "signature refused"})
                    return
                action, code, latency, faults = receiver._decide()
                if latency:
                    time.sleep(latency)
                if action == "redirect":
                    self._answer(delivery, code, {}, location=faults.redirect_to)
                    return
                if action == "status":
                    self._answer(delivery, code, {"error": f"injected {code}"})
                    return
                if action == "hang":
                    if faults.hang_apply_first:
                        receiver._apply(delivery)
                    faults.release.wait(faults.hang_timeout)
                    if not faults.hang_apply_first:
                        receiver._apply(delivery)
                    self._answer(delivery, 200, {"applied": delivery.applied})
                    return
                applied = receiver._apply(delivery)
                self._answer(delivery, 200, {"applied": applied, "duplicate": not applied})

            def _answer(self, delivery: Delivery, status: int, document: dict, location: str | None = None) -> None:
                payload = json.dumps(document).encode()
                try:
                    self.send_response(status)
                    if location:
                        self.send_header("Location", location)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                    delivery.status = status
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (killed): no answer

        return Handler
