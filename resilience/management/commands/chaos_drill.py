"""Rehearse an outage from the command line (the same drills as the admin's status dashboard).

    python manage.py chaos_drill openai --seconds 120    # openai fails for two minutes
    python manage.py chaos_drill openai --stop           # ... or less
    python manage.py chaos_drill --list                  # the running drills
"""
from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from resilience.chaos import MAX_SECONDS, MIN_SECONDS, PROVIDERS, chaos_drills, chaos_start, chaos_stop
from resilience.store import REDIS_TROUBLE

DEFAULT_SECONDS = 60


def _operator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor the password database
        user = "unknown user"
    return f"{user} (manage.py chaos_drill)"


class Command(BaseCommand):
    help = "Make an AI provider fail for a while in every process (a chaos drill), stop a drill, or list them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("provider", nargs="?", choices=PROVIDERS, help="the AI provider to make fail")
        parser.add_argument("--seconds", type=int, default=DEFAULT_SECONDS,
                            help=f"how long the drill lasts, {MIN_SECONDS}-{MAX_SECONDS} (default {DEFAULT_SECONDS})")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--stop", action="store_true", help="end the provider's drill now")
        mode.add_argument("--list", dest="list_drills", action="store_true", help="list the running drills")

    def handle(self, *args: object, provider: str | None, seconds: int, stop: bool, list_drills: bool,
               **options: object) -> None:
        try:
            if list_drills:
                self._list()
            elif provider is None:
                raise CommandError("name a provider (one of: " + ", ".join(PROVIDERS) + "), or pass --list")
            elif stop:
                self._stop(provider)
            else:
                self._start(provider, seconds)
        except REDIS_TROUBLE as error:
            raise CommandError(f"Redis is unreachable ({type(error).__name__}): nothing was changed") from error

    def _start(self, provider: str, seconds: int) -> None:
        try:
            chaos_start(provider=provider, seconds=seconds, started_by=_operator())
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.WARNING(
            f"Chaos drill started: {provider} fails in every process for {seconds} s "
            f"(stop it with: manage.py chaos_drill {provider} --stop)."))

    def _stop(self, provider: str) -> None:
        running = any(drill["provider"] == provider for drill in chaos_drills())
        chaos_stop(provider=provider)
        if running:
            self.stdout.write(self.style.SUCCESS(f"Chaos drill stopped: {provider} is called normally again."))
        else:
            self.stdout.write(f"No chaos drill was running on {provider}: nothing to stop.")

    def _list(self) -> None:
        drills = chaos_drills()
        if not drills:
            self.stdout.write("No chaos drill is running.")
        for drill in drills:
            self.stdout.write(f"{drill['provider']}: fails for {drill['remaining_seconds']} s more "
                              f"(started by {drill['started_by']})")
