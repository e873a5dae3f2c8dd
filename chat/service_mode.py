"""What the artist is told about the service's degradation level: the banner, the connection
status and the input's placeholder (DESIGN.md's table), in the artist's language."""
from __future__ import annotations

from dataclasses import dataclass

from chat.texts import catalogue_for
from resilience.degradation import Level


@dataclass(frozen=True)
class ServiceMode:
    level: Level
    banner: str  # "" when there is nothing to say (OPTIMAL)
    connection: str  # the status shown while the socket is open
    placeholder: str

    @property
    def name(self) -> str:
        return self.level.label

    @property
    def takes_writes(self) -> bool:
        return self.level < Level.MINIMAL


def service_mode(level: Level, language: str) -> ServiceMode:
    ui = catalogue_for(language).ui
    if level is Level.OPTIMAL:
        return ServiceMode(level, "", ui["connected"], ui["placeholder"])
    if level in (Level.DEGRADED, Level.LIMITED):
        return ServiceMode(level, ui["banner_backup"], ui["mode_backup"], ui["placeholder_backup"])
    if level is Level.MINIMAL:
        return ServiceMode(level, ui["banner_minimal"], ui["mode_backup"], ui["placeholder_minimal"])
    return ServiceMode(level, ui["banner_emergency"], ui["mode_backup"], ui["placeholder_minimal"])
