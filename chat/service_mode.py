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
    detail: str  # the plain line under it: what still works, what waits
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
        return ServiceMode(level, "", "", ui["connected"], ui["placeholder"])
    if level is Level.EMERGENCY:  # the page turns into the status page
        return ServiceMode(level, ui["banner_emergency"], "", ui["mode_backup"], ui["placeholder_minimal"])
    # DESIGN's sentence as the headline at every backup level, then what this one means.
    placeholder = ui["placeholder_minimal"] if level is Level.MINIMAL else ui["placeholder_backup"]
    return ServiceMode(level, ui["banner_backup"], ui[f"banner_detail_{level.label}"], ui["mode_backup"], placeholder)
