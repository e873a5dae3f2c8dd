"""Staff see and steer the queue for later in the admin: the job list and its filters, a job's
read-only page, the actions (each one logged per job, refused without the change permission),
the counts on the status dashboard, and `queued_jobs` on /metrics."""
from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import OperationalError, connection

from resilience import queue
from resilience.models import QueuedJob
from resilience.queue import JobRequest, JobType

pytestmark = pytest.mark.django_db

JOBS = "/admin/resilience/queuedjob/"
DASHBOARD = "/admin/resilience/servicestatus/"
Status = QueuedJob.Status

_keys = itertools.count()


def make_job(status: str = Status.PENDING, **fields: object) -> QueuedJob:
    defaults: dict[str, object] = {"job_type": "test.admin", "payload": {"n": 1}, "dependency": "test-dep",
                                   "idempotency_key": f"admin-key-{next(_keys)}", "max_attempts": 3}
    attempts = 3 if status == Status.DEAD else 1 if status in (Status.FAILED, Status.RUNNING, Status.DONE) else 0
    return QueuedJob.objects.create(**{**defaults, "status": status, "attempts": attempts, **fields})


def staff_user(username: str, *codenames: str):
    user = get_user_model().objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def listed_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<th class="field-id"><a href="/admin/resilience/queuedjob/(\d+)/', page)]


def messages_of(response) -> str:
    return unescape(" ".join(str(message) for message in response.context["messages"]))


def act(client, action: str, *jobs: QueuedJob):
    return client.post(JOBS, {"action": action, "_selected_action": [job.pk for job in jobs]}, follow=True)


def status_of(job: QueuedJob) -> str:
    job.refresh_from_db()
    return job.status


@contextmanager
def database_refusing(table: str = "") -> Iterator[None]:
    """Every query (or every query on `table`) fails as if the database had gone away."""

    def refuse(execute, sql, params, many, context):
        if table in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


@pytest.fixture
def registered_type():
    queue.job_type_register(JobType(name="test.admin", run=lambda payload: "ran", dependency="test-dep"))


@pytest.fixture
def viewer_client(client):
    client.force_login(staff_user("viewer", "view_queuedjob", "view_servicestatus"))
    return client


# --- The list and a job's page ------------------------------------------------------------------

def test_the_list_shows_every_column_newest_change_first(admin_client, registered_type):
    job, _ = queue.job_enqueue(JobRequest("test.admin", {"n": 1}, "from-the-service", owner="presskit:abc"))
    dead = make_job(Status.DEAD, owner="presskit:def", priority=QueuedJob.Priority.HIGH)
    page = admin_client.get(JOBS).content.decode()
    assert listed_ids(page) == [dead.pk, job.pk]
    row = page[page.index(f'/queuedjob/{dead.pk}/'):]
    row = row[:row.index("</tr>")]
    assert 'class="job-status job-status--dead"' in row and "sin intentos" in row
    assert "alta" in row and "3 / 3" in row and "test-dep" in row and "presskit:def" in row
    assert re.search(r'<td class="field-next_attempt[^"]*">-</td>', row)  # a dead job has no next attempt
    assert f"{JOBS}add/" not in page


@pytest.mark.parametrize(("query", "expected"), [
    ("status__exact=dead", ["dead"]),
    ("status__exact=failed", ["failed"]),
    ("job_type=test.other", ["other"]),
    ("priority__exact=2", ["low"]),
    ("dependency=storage", ["storage"]),
    ("q=presskit:wanted", ["owned"]),
    ("q=unique-key-42", ["keyed"]),
])
def test_filters_and_search(admin_client, query, expected):
    jobs = {
        "dead": make_job(Status.DEAD),
        "failed": make_job(Status.FAILED),
        "other": make_job(Status.DONE, job_type="test.other"),
        "low": make_job(Status.DONE, priority=QueuedJob.Priority.LOW),
        "storage": make_job(Status.DONE, dependency="storage"),
        "owned": make_job(Status.DONE, owner="presskit:wanted"),
        "keyed": make_job(Status.DONE, idempotency_key="unique-key-42"),
    }
    page = admin_client.get(f"{JOBS}?{query}").content.decode()
    assert listed_ids(page) == [jobs[name].pk for name in expected]


def test_a_jobs_page_is_read_only_and_shows_its_data_escaped(admin_client):
    job = make_job(Status.DEAD, payload={"bio": "<script>alert('x')</script>", "n": 7},
                   result={"summary": "<b>bold</b>"}, last_error="ConnectionError <oops>")
    response = admin_client.get(f"{JOBS}{job.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert re.search(r'<pre class="job-json">\{\n  &quot;bio&quot;: .*\n  &quot;n&quot;: 7\n\}</pre>', page)
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "ConnectionError &lt;oops&gt;" in page
    assert 'name="_save"' not in page and "<textarea" not in page  # nothing to edit, no save button
    # A save posted anyway changes nothing.
    assert admin_client.post(f"{JOBS}{job.pk}/change/", {"status": "pending"}).status_code == 403
    assert status_of(job) == Status.DEAD


def test_no_one_adds_or_deletes_jobs_here(admin_client):
    job = make_job(Status.DEAD)
    assert admin_client.get(f"{JOBS}add/").status_code == 403
    assert admin_client.post(f"{JOBS}{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert QueuedJob.objects.filter(pk=job.pk).exists()


# --- The actions --------------------------------------------------------------------------------

def test_retry_now_makes_waiting_jobs_due_and_leaves_the_others(admin_client, admin_user):
    failed = make_job(Status.FAILED)
    failed.next_attempt_at = failed.next_attempt_at.replace(year=2999)
    failed.save()
    running, dead = make_job(Status.RUNNING), make_job(Status.DEAD)
    response = act(admin_client, "retry_now", failed, running, dead)
    assert "1 job made due now; 2 left alone (only pending or failed jobs are retried)" in messages_of(response)
    failed.refresh_from_db()
    assert failed.next_attempt_at.year < 2999 and failed.status == Status.FAILED
    [entry] = LogEntry.objects.all()
    assert entry.object_id == str(failed.pk) and entry.user == admin_user
    assert "made due now by staff: failed → failed" in entry.get_change_message()


def test_requeue_dead_gives_fresh_attempts_and_logs_each_job(admin_client):
    dead, other_dead, pending = make_job(Status.DEAD), make_job(Status.DEAD), make_job(Status.PENDING)
    response = act(admin_client, "requeue_dead", dead, other_dead, pending)
    assert "2 jobs requeued with fresh attempts; 1 left alone" in messages_of(response)
    for job in (dead, other_dead):
        job.refresh_from_db()
        assert (job.status, job.attempts) == (Status.PENDING, 0)
    entries = LogEntry.objects.order_by("object_id")
    assert [entry.object_id for entry in entries] == sorted([str(dead.pk), str(other_dead.pk)])
    assert all("dead → pending (3 / 3 attempts before)" in entry.get_change_message() for entry in entries)


def test_discard_never_touches_a_running_or_done_job(admin_client):
    dead, failed = make_job(Status.DEAD), make_job(Status.FAILED)
    running, done = make_job(Status.RUNNING), make_job(Status.DONE)
    response = act(admin_client, "discard", dead, failed, running, done)
    assert "2 jobs discarded; 2 left alone (running and done jobs are never discarded)" in messages_of(response)
    assert [status_of(job) for job in (dead, failed, running, done)] == [
        Status.DISCARDED, Status.DISCARDED, Status.RUNNING, Status.DONE]
    assert {entry.object_id for entry in LogEntry.objects.all()} == {str(dead.pk), str(failed.pk)}
    history = admin_client.get(f"{JOBS}{dead.pk}/history/").content.decode()
    assert "discarded by staff: dead → discarded" in unescape(history)


def test_an_action_that_changes_nothing_warns_and_logs_nothing(admin_client):
    running = make_job(Status.RUNNING)
    response = act(admin_client, "discard", running)
    assert "0 jobs discarded; 1 left alone" in messages_of(response)
    assert status_of(running) == Status.RUNNING and not LogEntry.objects.exists()


def test_view_only_staff_see_the_jobs_but_no_action(viewer_client):
    job = make_job(Status.DEAD, payload={"n": 5})
    page = viewer_client.get(JOBS).content.decode()
    assert listed_ids(page) == [job.pk]
    assert 'name="action"' not in page and "Volver a encolar los trabajos muertos" not in page
    assert viewer_client.get(f"{JOBS}{job.pk}/change/").status_code == 200
    for action in ("retry_now", "requeue_dead", "discard", "delete_selected"):
        act(viewer_client, action, job)
    assert status_of(job) == Status.DEAD and not LogEntry.objects.exists()


def test_the_change_permission_gives_the_actions(client):
    client.force_login(staff_user("operator", "change_queuedjob"))
    job = make_job(Status.DEAD)
    page = client.get(JOBS).content.decode()
    assert "Reintentar ahora" in page and "Volver a encolar los trabajos muertos" in page and "Descartar" in page
    assert 'value="delete_selected"' not in page
    act(client, "requeue_dead", job)
    assert status_of(job) == Status.PENDING and LogEntry.objects.count() == 1


def test_non_staff_cannot_reach_the_jobs(client):
    client.force_login(get_user_model().objects.create_user("artist", password="x"))
    job = make_job(Status.DEAD)
    assert client.get(JOBS).status_code == 302
    assert client.post(JOBS, {"action": "discard", "_selected_action": [job.pk]}).status_code == 302
    assert status_of(job) == Status.DEAD


# --- The status dashboard -----------------------------------------------------------------------

def dashboard_counts(page: str) -> dict[str, str]:
    return dict(re.findall(r'class="queue-count[^"]*" data-status="([a-z]+)" data-count="([a-z0-9]+)"', page))


def test_the_dashboard_counts_jobs_by_status_with_links(admin_client):
    for status, n in ((Status.PENDING, 2), (Status.RUNNING, 1), (Status.FAILED, 1), (Status.DONE, 3),
                      (Status.DISCARDED, 1)):
        for _ in range(n):
            make_job(status)
    page = admin_client.get(DASHBOARD).content.decode()
    assert dashboard_counts(page) == {"pending": "2", "running": "1", "failed": "1", "dead": "0", "done": "3"}
    assert f'<a href="{JOBS}?status__exact=pending">2</a>' in page
    assert f'<a href="{JOBS}?status__exact=done">3</a>' in page
    assert "queue-count queue-count--alert" not in page
    assert len(listed_ids(admin_client.get(f"{JOBS}?status__exact=pending").content.decode())) == 2


def test_dead_jobs_are_highlighted_on_the_dashboard(admin_client):
    make_job(Status.DEAD)
    make_job(Status.DEAD)
    page = admin_client.get(DASHBOARD).content.decode()
    assert re.search(r'class="queue-count queue-count--alert" data-status="dead" data-count="2"', page)
    assert f'<a href="{JOBS}?status__exact=dead">2</a>' in page


def test_staff_without_the_job_permission_see_counts_without_links(client):
    client.force_login(staff_user("status-only", "view_servicestatus"))
    make_job(Status.DEAD)
    page = client.get(DASHBOARD).content.decode()
    assert dashboard_counts(page)["dead"] == "1"
    assert f'href="{JOBS}' not in page


def test_without_the_jobs_table_the_dashboard_says_unknown(admin_client, caplog):
    make_job(Status.DEAD)
    with database_refusing("resilience_queuedjob"):
        response = admin_client.get(DASHBOARD)
    page = response.content.decode()
    assert response.status_code == 200
    assert set(dashboard_counts(page).values()) == {"unknown"}
    assert "No se pueden contar los trabajos en cola: la base de datos no responde." in page
    assert 'id="status-level"' in page and 'data-breaker="openai"' in page  # the rest still shows


# --- /metrics -----------------------------------------------------------------------------------

def test_metrics_count_the_jobs_by_status_and_type(client):
    make_job(Status.PENDING)
    make_job(Status.PENDING)
    make_job(Status.DEAD)
    make_job(Status.DONE, job_type="test.other")
    body = client.get("/metrics").content.decode()
    assert 'queued_jobs{job_type="test.admin",status="pending"} 2.0' in body
    assert 'queued_jobs{job_type="test.admin",status="dead"} 1.0' in body
    assert 'queued_jobs{job_type="test.admin",status="running"} 0.0' in body
    assert 'queued_jobs{job_type="test.other",status="done"} 1.0' in body
    assert 'queued_jobs{job_type="test.other",status="pending"} 0.0' in body


def test_metrics_without_the_database_leave_the_gauge_out_and_log_once(client, caplog):
    make_job(Status.DEAD)
    caplog.set_level(logging.INFO, logger="resilience.metrics")
    with database_refusing():
        first, second = client.get("/metrics"), client.get("/metrics")
    for response in (first, second):
        body = response.content.decode()
        assert response.status_code == 200
        assert "queued_jobs{" not in body and "circuit_breaker_state{" in body
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert 'queued_jobs{job_type="test.admin",status="dead"} 1.0' in client.get("/metrics").content.decode()
    assert "back in the metrics" in caplog.records[-1].getMessage()
