"""The queue for later from the command line, for when the admin cannot be reached."""
from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection

from resilience.models import QueuedJob

pytestmark = pytest.mark.django_db

Status = QueuedJob.Status
_keys = itertools.count()


def make_job(status: str = Status.PENDING, **fields: object) -> QueuedJob:
    attempts = 3 if status == Status.DEAD else 0
    defaults: dict[str, object] = {"job_type": "test.cli", "payload": {}, "dependency": "test-dep",
                                   "idempotency_key": f"cli-key-{next(_keys)}", "max_attempts": 3,
                                   "status": status, "attempts": attempts}
    return QueuedJob.objects.create(**{**defaults, **fields})


def run(*arguments: str) -> str:
    out = StringIO()
    call_command("queue", *arguments, stdout=out)
    return out.getvalue()


def status_of(job: QueuedJob) -> str:
    job.refresh_from_db()
    return job.status


def test_status_counts_by_status_and_dependency_and_lists_dead_jobs():
    make_job(Status.PENDING)
    make_job(Status.FAILED, dependency="storage")
    dead = make_job(Status.DEAD, dependency="storage", last_error="ConnectionError (HTTP 503)")
    out = run("status")
    assert "jobs: pending 1, running 0, done 0, failed 1, dead 1, discarded 0" in out
    assert "  storage: failed 1, dead 1" in out and "  test-dep: pending 1" in out
    assert f"#{dead.pk} test.cli on storage, 3 / 3 attempts" in out and "ConnectionError (HTTP 503)" in out


def test_status_of_a_quiet_queue():
    assert "no dead jobs" in run("status")


def test_retry_makes_a_failed_job_due_and_says_what_it_left_alone():
    failed, done = make_job(Status.FAILED), make_job(Status.DONE)
    failed.next_attempt_at = failed.next_attempt_at.replace(year=2999)
    failed.save()
    out = run("retry", str(failed.pk), str(done.pk), "999999")
    assert "1 job made due now; 1 left alone (only pending or failed jobs are retried); not found: 999999" in out
    failed.refresh_from_db()
    assert failed.next_attempt_at.year < 2999


def test_requeue_by_id_or_every_dead_job():
    first, second, third = make_job(Status.DEAD), make_job(Status.DEAD), make_job(Status.DEAD)
    assert "1 job requeued with fresh attempts." in run("requeue", str(first.pk))
    assert "2 jobs requeued with fresh attempts." in run("requeue", "--all-dead")
    for job in (first, second, third):
        job.refresh_from_db()
        assert (job.status, job.attempts) == (Status.PENDING, 0)


def test_requeue_needs_ids_or_all_dead_but_not_both():
    with pytest.raises(CommandError):
        run("requeue")
    with pytest.raises(CommandError):
        run("requeue", "1", "--all-dead")


def test_discard_leaves_a_running_job_alone():
    dead, running = make_job(Status.DEAD), make_job(Status.RUNNING)
    out = run("discard", str(dead.pk), str(running.pk))
    assert "1 job discarded; 1 left alone (running and done jobs are never discarded)" in out
    assert (status_of(dead), status_of(running)) == (Status.DISCARDED, Status.RUNNING)


def test_without_the_database_it_fails_loudly():
    def refuse(execute, sql, params, many, context):
        raise OperationalError("could not connect to server")

    with connection.execute_wrapper(refuse), pytest.raises(CommandError, match="database is unreachable"):
        run("status")
