"""The exports of a published version made by real Celery processes: beat's drain hands the
export job to a worker, which writes the snapshot and the PDF; an exports storage that fails
makes the job wait and retry, and nothing is lost."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from presskit.exports import snapshot_read
from presskit.models import PresskitVersion
from presskit.services import presskit_publish
from resilience.models import QueuedJob
from tests.queue_worker.stack import presskit_create
from tests.queue_worker.test_worker import wait_until

pytestmark = [pytest.mark.subprocess, pytest.mark.django_db(transaction=True)]


def exports_at(settings, location: Path) -> None:
    # A new STORAGES value: Django forgets its storage instances.
    settings.STORAGES = {**settings.STORAGES, "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}}}


def export_job_state() -> str:
    job = QueuedJob.objects.get(job_type="presskit.version_export")
    return (f"export job: {job.status}, {job.attempts} attempt(s), next at {job.next_attempt_at:%H:%M:%S.%f}, "
            f"lease until {job.lease_expires_at}, last error {job.last_error!r}")


def publish_one() -> PresskitVersion:
    presskit = presskit_create("Luna Roja")
    type(presskit).objects.filter(pk=presskit.pk).update(genres=["house"], short_bio="Luna Roja es DJ de house.",
                                                         bio_source="template")
    return presskit_publish(presskit_id=str(presskit.pk), language="es")


def test_a_worker_exports_a_published_version(queue_stack, settings, tmp_path):
    exports_at(settings, tmp_path / "exports")
    stack = queue_stack(EXPORT_STORAGE_OPTIONS=f'{{"location": "{tmp_path / "exports"}"}}')
    version = publish_one()
    stack.start_worker()
    stack.start_beat()
    try:
        wait_until(lambda: PresskitVersion.objects.get(pk=version.pk).pdf_name, 30, "the PDF made by the worker", stack)
    except AssertionError as missing:  # seen in CI: where the job stood, and its first failure's traceback
        failed = [p.output[p.output.index("failed (attempt"):][:4000] for p in stack.processes
                  if "failed (attempt" in p.output]
        raise AssertionError(f"{export_job_state()}\n{''.join(failed[:1])}\n{missing}") from None
    # Loaded by the worker before its pool started, not by the job: a time limit landing inside
    # that import would have broken every later export in the process.
    worker_log = stack.workers[0].output
    assert worker_log.index("PDF engine loaded: WeasyPrint") < worker_log.index(" ready.")
    assert QueuedJob.objects.get(job_type="presskit.version_export").attempts == 1
    slug = version.document["slug"]
    assert (tmp_path / "exports" / f"pdf/{slug}-v1.pdf").read_bytes().startswith(b"%PDF")
    assert snapshot_read(slug)["version"] == 1
    assert Client(HTTP_HOST="localhost").get(f"/p/{slug}.pdf").content.startswith(b"%PDF")


def test_an_export_that_fails_on_the_storage_is_retried_until_it_is_back(queue_stack, settings, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the exports folder should be")
    broken = blocker / "exports"  # cannot be created: every write fails
    stack = queue_stack(EXPORT_STORAGE_OPTIONS=f'{{"location": "{broken}"}}')
    version = publish_one()
    stack.start_worker()
    stack.start_beat()
    wait_until(lambda: QueuedJob.objects.get(job_type="presskit.version_export").attempts >= 1
               and QueuedJob.objects.get(job_type="presskit.version_export").status == "failed", 30, "a failed try", stack)
    assert not PresskitVersion.objects.get(pk=version.pk).pdf_name
    stack.stop()

    fixed = queue_stack(EXPORT_STORAGE_OPTIONS=f'{{"location": "{tmp_path / "exports"}"}}')
    fixed.start_worker()
    fixed.start_beat()
    wait_until(lambda: QueuedJob.objects.get(job_type="presskit.version_export").status == "done", 30, "done", fixed)
    assert PresskitVersion.objects.get(pk=version.pk).pdf_name == f"pdf/{version.document['slug']}-v1.pdf"
