"""docker-compose.yml cannot be run here (no Docker engine), so its shape is checked instead:
each service runs a command the README names, with health checks and healthy dependencies."""
from __future__ import annotations

import re

import yaml

from presskit.stack import app_processes, setup_commands
from tests.servers import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
README = (REPO / "README.md").read_text()
APP_SERVICES = ("migrate", "web", "worker", "beat")


def readme_process_commands() -> list[str]:
    """The commands listed in the README's "Processes" section."""
    section = README.split("## Processes", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `([^`]+)`", section, re.MULTILINE)


def _is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(word in remaining for word in needle)


def _starts_with_named(command: list[str], named: list[str]) -> bool:
    """True when the command is a named one plus options (-b, -p, --loglevel …) in between."""
    return any(
        command[0] == words[0] and _is_subsequence(words, command)
        for words in (named_command.split() for named_command in named)
    )


def test_the_readme_names_the_design_process_contract():
    named = readme_process_commands()
    for contract in ("daphne presskit.asgi:application", "celery -A presskit worker",
                     "celery -A presskit beat", "python manage.py migrate"):
        assert contract in named


def test_every_app_service_runs_a_command_the_readme_names():
    named = readme_process_commands()
    for name in APP_SERVICES:
        assert _starts_with_named(COMPOSE["services"][name]["command"], named), name


def test_the_run_command_starts_the_same_processes():
    named = readme_process_commands()
    for process in app_processes("127.0.0.1", 8000):
        assert _starts_with_named(process.argv, named), process.name
    assert _starts_with_named(setup_commands()[0], named)


def test_services_have_health_checks_and_wait_for_healthy_dependencies():
    services = COMPOSE["services"]
    for name in ("db", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_app_services_get_their_settings_from_the_environment():
    for name in APP_SERVICES:
        environment = COMPOSE["services"][name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert "SECRET_KEY" in environment


def test_web_and_workers_share_the_data_folder():
    """A photo staged by the web process while the storage is down is stored later by a worker."""
    for name in ("web", "worker", "beat"):
        assert "app-data:/app/var" in COMPOSE["services"][name]["volumes"], name
    assert "app-data" in COMPOSE["volumes"]


def test_the_image_installs_what_ci_tested_from_the_lock():
    dockerfile = COMPOSE["x-app"]["build"]["dockerfile_inline"]
    makefile = (REPO / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION \?= (\S+)$", makefile, re.MULTILINE).group(1)
    assert f"pip install uv=={uv_version}" in dockerfile  # the same uv as `make`
    assert "uv sync --locked" in dockerfile
    assert not re.search(r"pip install (-e )?\.", dockerfile)  # never an unlocked resolution
