"""The press photos when the photo storage is down for real: each upload is kept and queued, the
`storage` breaker opens and later uploads wait without touching the storage, and each queued copy
runs once when the storage is back (a photo taken out while it waits is only cleaned up)."""
from __future__ import annotations

from html import unescape

import pytest

from resilience.breakers import get_breaker
from resilience.machine import State
from resilience.models import QueuedJob
from resilience.queue import job_run
from tests.presskit.images import jpeg_bytes, png_bytes

pytestmark = pytest.mark.django_db(transaction=True)

QUEUED = "Tu foto está a salvo: la subiremos en cuanto el almacenamiento vuelva a estar disponible."


def job_for(staged: str) -> QueuedJob:
    return QueuedJob.objects.get(idempotency_key=f"photo:{staged}")


def test_storage_down_the_photo_is_kept_queued_and_stored_once_when_it_is_back(browser, places, storage_down):
    photos = [png_bytes(rgb=(n, n, n)) for n in range(6)]
    response = browser.upload(photos[0], htmx=True)
    assert response.status_code == 202 and QUEUED in unescape(response.content.decode())
    assert "se subirá en cuanto el almacenamiento vuelva" in unescape(response.content.decode())  # pending state
    first = browser.photo.staged
    job = job_for(first)
    assert job.job_type == "presskit.photo_store" and job.priority == QueuedJob.Priority.HIGH
    assert job.status == "failed" and job.attempts == 1 and job.owner == f"presskit:{browser.presskit.pk}"
    assert (places.staging / first).read_bytes() == photos[0]

    # No JavaScript: the same, said on the page it goes back to.
    response = browser.upload(photos[1])
    assert response.status_code == 302 and QUEUED in unescape(browser.client.get("/").content.decode())
    for photo in photos[2:5]:
        assert browser.upload(photo, htmx=True).status_code == 202
    assert get_breaker("storage").state is State.OPEN  # five failures in its window

    # The breaker is open: the next upload is queued at once, the storage not even tried.
    response = browser.upload(photos[5], htmx=True)
    assert response.status_code == 202 and QUEUED in unescape(response.content.decode())
    last = browser.photos[-1].staged
    waiting = job_for(last)
    assert waiting.status == "pending" and waiting.attempts == 0 and "CircuitOpenError" in waiting.last_error
    assert len(places.staged_files()) == 6 and places.stored_files() == []
    assert [photo.name for photo in browser.photos] == [""] * 6
    page = unescape(browser.client.get("/").content.decode())
    assert page.count('data-photo-state="pending"') == 6 and "6 de 8 fotos" in page

    # The storage is back: each copy runs once, in whatever order the workers take them.
    storage_down.restore()
    get_breaker("storage").reset()
    assert job_run(waiting.pk) == "done"
    presskit = browser.presskit
    assert browser.photos[-1].name == f"presskits/{presskit.pk}/{last}" and browser.photos[-1].staged == ""
    assert [path.read_bytes() for path in places.stored_files()] == [photos[5]]
    assert not (places.staging / last).exists()
    assert job_run(waiting.pk) == "skipped"  # done: a second delivery does nothing
    assert [path.read_bytes() for path in places.stored_files()] == [photos[5]]
    for job in QueuedJob.objects.exclude(pk=waiting.pk):
        assert job_run(job.pk) == "done"
    stored = {path.name: path.read_bytes() for path in places.stored_files()}
    assert [stored[photo.name.rsplit("/", 1)[1]] for photo in browser.photos] == photos  # the upload order kept
    assert places.staged_files() == []

    page = unescape(browser.client.get("/").content.decode())
    assert page.count('<img class="photo__image" src="/media/photos/presskits/') == 6
    assert "se subirá en cuanto" not in page


def test_a_photo_taken_out_while_its_copy_waits_is_only_cleaned_up(browser, places, storage_down):
    browser.upload(png_bytes(), htmx=True)
    browser.upload(jpeg_bytes(), name="nueva.jpg", content_type="image/jpeg", htmx=True)
    removed, kept = (photo.staged for photo in browser.photos)
    form = {"action": "photo", "operation": "remove", "photo": str(browser.photos[0].pk)}
    assert browser.client.post("/", form).status_code == 302
    assert not (places.staging / removed).exists()  # no copy to wait for any more
    storage_down.restore()

    assert job_run(job_for(kept).pk) == "done"
    assert job_run(job_for(removed).pk) == "done"
    assert job_for(removed).result == {"stored": False, "reason": "removed"}  # nothing copied: not even tried
    assert browser.photo.name.endswith(kept) and browser.photo.staged == ""
    assert [path.name for path in places.stored_files()] == [kept]
    assert places.staged_files() == []


def test_a_copy_interrupted_before_it_was_recorded_is_redone_under_the_same_name(browser, places, storage_down):
    browser.upload(png_bytes(), htmx=True)
    staged = browser.photo.staged
    storage_down.restore()
    # An earlier try left a partial file under the photo's name, then its worker was lost.
    partial = places.storage / "presskits" / str(browser.presskit.pk) / staged
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"\x89PNG half")
    assert job_run(job_for(staged).pk) == "done"
    assert [path.read_bytes() for path in places.stored_files()] == [png_bytes()]
    assert browser.photo.name.endswith(staged)


def test_a_copy_out_of_attempts_keeps_the_photo_and_says_so(settings, browser, places, storage_down):
    settings.QUEUE_MAX_ATTEMPTS = 1
    response = browser.upload(png_bytes(), htmx=True)
    assert response.status_code == 202
    assert "Tu foto está a salvo en nuestro servidor, pero no hemos podido subirla" in unescape(response.content.decode())
    staged = browser.photo.staged
    assert job_for(staged).status == "dead"  # staff see it among the dead jobs, and may requeue it
    assert (places.staging / staged).read_bytes() == png_bytes()


@pytest.mark.asyncio
async def test_a_photo_stored_later_by_a_worker_appears_on_the_open_page(browser, places, storage_down, connect):
    from asgiref.sync import sync_to_async
    from django.conf import settings

    from tests.conftest import Artist

    assert (await sync_to_async(browser.upload)(png_bytes(), htmx=True)).status_code == 202
    await sync_to_async(browser.client.get)("/")  # the photo stored the chat: the page claims it for the session
    artist = Artist(chat_id=browser.chat_id, session_key=browser.client.cookies[settings.SESSION_COOKIE_NAME].value)
    communicator, connected, _ = await connect(artist)
    assert connected and 'data-photo-state="pending"' in await communicator.receive_from(5)
    storage_down.restore()
    await sync_to_async(get_breaker("storage").reset)()
    staged = (await sync_to_async(lambda: browser.photo)()).staged
    job = await sync_to_async(job_for)(staged)
    assert await sync_to_async(job_run)(job.pk) == "done"
    pushed = await communicator.receive_from(5)
    assert 'id="draft"' in pushed and "/media/photos/presskits/" in pushed and 'data-photo-state="pending"' not in pushed
