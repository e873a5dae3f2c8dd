"""Oversized request bodies (issue: "any client can balloon Daphne's memory with one large POST"):
refused with 413 before anything parses them, on every route, declared or chunked, through a real
Daphne whose memory is measured; and the documented deployment puts nginx, with a body limit, in
front of Daphne."""
from __future__ import annotations

import re

import httpx
import psutil
import pytest
import yaml

from presskit.body_limit import body_limit_for
from tests.servers import REPO, database_url_of_test_db, server_environment, start_daphne

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

MB = 1024 * 1024
BODY = 100 * MB
FORGED_CSRF = {"Cookie": "csrftoken=forgedforgedforgedforgedforgedfo", "X-CSRFToken": "forged"}


HEAD = (b'--zz\r\nContent-Disposition: form-data; name="photo"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n")
TAIL = b"\r\n--zz--\r\n"


def multipart(total: int) -> bytes:
    """A well-formed multipart form of `total` bytes: one file part (what a parser would read)."""
    return HEAD + b"0" * (total - len(HEAD) - len(TAIL)) + TAIL


def chunked(total: int, size: int = MB):
    """The same form, streamed without a Content-Length (chunked transfer encoding)."""
    yield HEAD
    for _ in range((total - len(HEAD) - len(TAIL)) // size):
        yield b"0" * size
    yield TAIL


def rss(process: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])




@pytest.mark.parametrize("path", ["/photo", "/", "/admin/login/"])
@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_a_100_mb_body_is_refused_with_413_and_daphne_stays_small(path, streamed):
    server, base_url = start_daphne(server_environment(DATABASE_URL=database_url_of_test_db()))
    try:
        process = psutil.Process(server.process.pid)
        before = rss(process)
        body = chunked(BODY) if streamed else multipart(BODY)
        headers = {**FORGED_CSRF, "Content-Type": "multipart/form-data; boundary=zz"}
        with httpx.Client(base_url=base_url, timeout=120) as client:
            try:
                response = client.post(path, content=body, headers=headers)
                status = response.status_code
            except httpx.TransportError:
                status = None  # the server answered 413 and closed while we were still sending
            growth = rss(process) - before
            if status is None:  # read the answer the server gave: it is still alive and small
                status = client.post(path, content=multipart(REQUEST_LIMIT(path) + 1), headers=headers).status_code
        print(f"{path} {'chunked' if streamed else 'content-length'}: Daphne RSS +{growth / MB:.0f} MB")
        assert status == 413
        assert growth < 2 * BODY, f"Daphne grew by {growth / MB:.0f} MB for a {BODY / MB:.0f} MB body"
        assert "Traceback" not in server.output
    finally:
        server.stop()


def REQUEST_LIMIT(path: str) -> int:
    from django.conf import settings

    return body_limit_for(path, settings.REQUEST_BODY_LIMITS, settings.REQUEST_BODY_MAX_BYTES)


def test_bodies_within_the_limit_still_reach_the_views(settings):
    server, base_url = start_daphne(server_environment(DATABASE_URL=database_url_of_test_db()))
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            page = client.get("/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            answer = client.post("/", data={"message": "Luna Roja", "csrfmiddlewaretoken": token})
            assert answer.status_code == 302  # the answer was taken
            big_photo = client.post("/photo", files={"photo": ("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * (9 * MB))},
                                    data={"csrfmiddlewaretoken": token})
            assert big_photo.status_code == 413  # over the photo route's limit: refused before parsing
    finally:
        server.stop()


def test_the_compose_stack_puts_a_proxy_with_a_body_limit_in_front_of_daphne(settings):
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert "ports" not in services["web"], "Daphne must not be published: the proxy is the way in"
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    mounted = [volume for volume in services["proxy"]["volumes"] if "nginx.conf" in volume]
    assert mounted and mounted[0].startswith("./deploy/nginx.conf:")
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    limit = re.search(r"client_max_body_size (\d+)m;", conf)
    largest = max([settings.REQUEST_BODY_MAX_BYTES, *settings.REQUEST_BODY_LIMITS.values()])
    assert limit and largest <= int(limit.group(1)) * MB <= largest + 2 * MB
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and "proxy_read_timeout" in conf
    assert "X-Forwarded-Proto" in conf
