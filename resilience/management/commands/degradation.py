"""The service level from the command line — for when the admin itself cannot be reached (the
database outage a forced level is often for). Needs Redis only.

    python manage.py degradation status
    python manage.py degradation evaluate
    python manage.py degradation force limited --reason "AI maintenance until 14:00"
    python manage.py degradation release --reason "maintenance over"
    python manage.py degradation history --limit 20
"""
from __future__ import annotations

import getpass
from datetime import datetime, timezone

from django.core.management.base import BaseCommand, CommandError, CommandParser

from resilience.degradation import (
    DegradationStoreUnavailable, Level, LevelChange, degradation_current, degradation_evaluate, degradation_force,
    degradation_history, degradation_release,
)

LEVELS = {level.label: level for level in Level}


def _when(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _change(change: LevelChange | None) -> str:
    return f"{change.from_level.label} -> {change.to_level.label}" if change else "level unchanged"


class Command(BaseCommand):
    help = "Show, evaluate, force or release the service's degradation level, or list its history."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="the current level")
        actions.add_parser("evaluate", help="check every component now")
        force = actions.add_parser("force", help="hold a level until released (maintenance)")
        force.add_argument("level", choices=list(LEVELS))
        force.add_argument("--reason", required=True)
        release = actions.add_parser("release", help="back to the level the health checks give")
        release.add_argument("--reason", default="released")
        history = actions.add_parser("history", help="the latest level changes, newest first")
        history.add_argument("--limit", type=int, default=20)

    def handle(self, *args: object, action: str, **options: object) -> None:
        operator = f"{getpass.getuser()} (manage.py degradation)"
        try:
            if action == "evaluate":
                self.stdout.write(f"evaluated: {_change(degradation_evaluate())}")
            elif action == "force":
                change = degradation_force(level=LEVELS[options["level"]], reason=f"{options['reason']} (by {operator})")
                self.stdout.write(f"forced: {_change(change)}")
            elif action == "release":
                change = degradation_release(reason=f"{options['reason']} (by {operator})")
                self.stdout.write(f"released: {_change(change)}")
            elif action == "history":
                for change in degradation_history(limit=options["limit"]):
                    forced = " (forced)" if change.forced else ""
                    self.stdout.write(f"{_when(change.at_ms)}  {_change(change)}{forced}: {change.reason}")
                return
        except DegradationStoreUnavailable as error:
            raise CommandError(f"Redis is unreachable: nothing was changed ({error}).") from error
        state = degradation_current()
        forced = "forced" if state.forced else "from the health checks"
        since = f"since {_when(state.since_ms)}" if state.since_ms else "never changed"
        self.stdout.write(f"level: {state.level.label} ({forced}, {since}): {state.reason}")
