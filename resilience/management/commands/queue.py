"""The queue for later from the command line — for when the admin cannot be reached. Needs the
database only; the same staff services as the admin's actions (resilience.queue).

    python manage.py queue status
    python manage.py queue retry 12 13
    python manage.py queue requeue 12 13
    python manage.py queue requeue --all-dead
    python manage.py queue discard 12
"""
from __future__ import annotations

import getpass
import logging

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from resilience import queue
from resilience.queue import JOB_ACTIONS, job_counts_by
from resilience.models import QueuedJob

logger = logging.getLogger(__name__)

Status = QueuedJob.Status
DEAD_LISTED = 50  # dead jobs printed by `status`; the rest are counted

ACTIONS = {"retry": JOB_ACTIONS["retry_now"], "requeue": JOB_ACTIONS["requeue_dead"], "discard": JOB_ACTIONS["discard"]}


class Command(BaseCommand):
    help = "Show the queued jobs by status and dependency, or retry, requeue or discard jobs by id."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="jobs by status and dependency; dead jobs listed")
        actions.add_parser("retry", help="make pending or failed jobs due now").add_argument("ids", nargs="+", type=int)
        requeue = actions.add_parser("requeue", help="give dead (or discarded) jobs fresh attempts, due now")
        which = requeue.add_mutually_exclusive_group(required=True)
        which.add_argument("ids", nargs="*", type=int, default=[])
        which.add_argument("--all-dead", action="store_true")
        actions.add_parser("discard", help="set jobs aside for good (kept for the record)").add_argument(
            "ids", nargs="+", type=int)

    def handle(self, *args: object, action: str, **options: object) -> None:
        try:
            if action == "status":
                self._status()
            else:
                self._steer(action, options)
        except DatabaseError as error:
            raise CommandError(f"The database is unreachable: nothing was read or changed ({error}).") from error

    def _status(self) -> None:
        counts = queue.job_counts()
        self.stdout.write("jobs: " + ", ".join(f"{status} {counts[status]}" for status in Status.values))
        by_dependency: dict[str, dict[str, int]] = {}
        for (dependency, status), n in job_counts_by("dependency", "status").items():
            by_dependency.setdefault(dependency, {})[status] = n
        for dependency, statuses in sorted(by_dependency.items()):
            shown = ", ".join(f"{status} {statuses[status]}" for status in Status.values if status in statuses)
            self.stdout.write(f"  {dependency}: {shown}")
        dead = counts[Status.DEAD]
        self.stdout.write(f"dead jobs ({dead}), newest first:" if dead else "no dead jobs")
        for job in QueuedJob.objects.filter(status=Status.DEAD).order_by("-updated_at", "-id")[:DEAD_LISTED]:
            self.stdout.write(f"  #{job.pk} {job.job_type} on {job.dependency}, {job.attempts} / {job.max_attempts} "
                              f"attempts, died {job.updated_at:%Y-%m-%d %H:%M:%S %Z}: {job.last_error or '-'}")
        if dead > DEAD_LISTED:
            self.stdout.write(f"  … and {dead - DEAD_LISTED} more")

    def _steer(self, action: str, options: dict) -> None:
        job_action = ACTIONS[action]
        if options.get("all_dead"):
            job_ids = list(QueuedJob.objects.filter(status=Status.DEAD).values_list("pk", flat=True))
        else:
            job_ids = list(dict.fromkeys(options["ids"]))
        found = set(QueuedJob.objects.filter(pk__in=job_ids).values_list("pk", flat=True))
        changed = job_action.service(job_ids=sorted(found))
        logger.info("manage.py queue %s by %s: %s of %s jobs %s", action, getpass.getuser(), changed, len(found),
                    job_action.done)
        line = job_action.summary(changed=changed, left_alone=len(found) - changed)
        if missing := [job_id for job_id in job_ids if job_id not in found]:
            line += f"; not found: {', '.join(map(str, missing))}"
        self.stdout.write(f"{line}.")
