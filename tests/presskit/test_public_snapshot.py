"""A published presskit stays up when the database does not: a second Daphne pointed at a dead
DATABASE_URL (same Redis, same data folder) serves the page, the JSON and the PDF from the
version's snapshot in the exports storage."""
from __future__ import annotations

import uuid

import httpx
import pytest

from chat import services as chat_services
from presskit.exports import snapshot_read
from presskit.models import PressPhoto, PressQuote, Presskit, Show
from presskit.services import presskit_publish
from resilience import breakers
from resilience.machine import State
from resilience.models import QueuedJob
from resilience.queue import job_run
from tests.servers import server_environment, start_daphne

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]

DEAD_DATABASE = "postgres://nobody@127.0.0.1:1/gone"  # nothing listens on port 1


def published(name: str, links: tuple[str, ...] = ("@lunaroja",), *, shows: tuple[dict, ...] = (),
              quotes: tuple[dict, ...] = (), photos: tuple[dict, ...] = (), **fields) -> Presskit:
    """A finished presskit, published, its export jobs done (as a worker does them); `shows`,
    `quotes` and `photos` (Show, PressQuote and PressPhoto fields, photos in order) and other
    `fields` of the draft as given."""
    session = chat_services.chat_session_create(language="es")
    Presskit.objects.filter(pk=session.presskit_id).update(**{
        "artist_name": name, "genres": ["house"], "experience": "desde 2014", "location": "Madrid",
        "story": "Empecé pinchando en las fiestas de mi barrio.", "links": list(links),
        "booking_email": "booking@lunaroja.com", "short_bio": f"{name} es DJ de house en Madrid.",
        "bio_source": "template", **fields})
    Show.objects.bulk_create(Show(presskit_id=session.presskit_id, **show) for show in shows)
    PressQuote.objects.bulk_create(PressQuote(presskit_id=session.presskit_id, **quote) for quote in quotes)
    PressPhoto.objects.bulk_create(PressPhoto(presskit_id=session.presskit_id, position=position, **photo)
                                   for position, photo in enumerate(photos))
    version = presskit_publish(presskit_id=str(session.presskit_id), language="es")
    for job in QueuedJob.objects.filter(job_type="presskit.version_export"):
        assert job_run(job.pk) == "done"  # what a worker does: the snapshot and the PDF
    return Presskit.objects.get(pk=version.presskit_id)


@pytest.fixture
def own_breakers(settings):
    """The second Daphne's breakers on a Redis prefix of this test's own (its `database`
    breaker opens, and must stay out of every other test's way), read from here too."""
    prefix = f"snap-{uuid.uuid4().hex[:10]}"
    settings.RESILIENCE_KEY_PREFIX = f"{prefix}:resilience"
    breakers.reset_registry()
    yield prefix
    breakers.reset_registry()


def test_the_public_page_json_and_pdf_are_served_with_the_database_unreachable(own_breakers):
    presskit = published("Luna Roja")
    assert snapshot_read(presskit.slug)["artist"]["name"] == "Luna Roja"
    env = server_environment(DATABASE_URL=DEAD_DATABASE, REDIS_KEY_PREFIX=own_breakers, DATABASE_POOL_TIMEOUT="0.5")
    server, base_url = start_daphne(env)
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            page = client.get(f"/p/{presskit.slug}/")
            assert page.status_code == 200, server.output[-3000:]
            assert "Luna Roja" in page.text and "Estás viendo la última versión publicada." in page.text
            data = client.get(f"/p/{presskit.slug}.json")
            assert data.status_code == 200 and data.json()["artist"]["name"] == "Luna Roja"
            pdf = client.get(f"/p/{presskit.slug}.pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
            assert client.get("/p/nadie-zzzz/").status_code == 404
            # The failures opened the database breaker: from now on no request waits on the database.
            assert breakers.get_breaker("database").snapshot().state is State.OPEN
            assert client.get(f"/p/{presskit.slug}/").status_code == 200
    finally:
        server.stop()
