"""Breaker configuration: declared once, as data, per dependency; overridable by settings.

`RESILIENCE_BREAKERS` (a dict of name -> fields) declares the breakers a project has, and
`BREAKER_OVERRIDES` (JSON in the environment) tunes any of them. Names that start with
`integration:` take the `integration` entry's values, so each external integration gets a
breaker of its own without being declared one by one.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

INTEGRATION_PREFIX = "integration:"
OVERRIDABLE = ("failure_threshold", "volume_threshold", "window", "recovery_timeout", "call_timeout")

# Client errors a retry cannot fix: the request is wrong, not the dependency. They neither
# count as failures nor as successes, so one bad request cannot trip a breaker for everyone.
NON_COUNTING_STATUS_CODES = frozenset({400, 401, 403, 404, 422})


@dataclass(frozen=True)
class BreakerConfig:
    name: str
    failure_threshold: int = 5  # failures in the window that open the breaker...
    volume_threshold: int = 5  # ...once at least this many calls were made in it
    window: float = 60.0  # seconds: a tumbling window, restarted when it has passed
    recovery_timeout: float = 60.0  # seconds OPEN before one probe is let through
    call_timeout: float = 10.0  # seconds; a slower call is a failure
    non_counting_status_codes: frozenset[int] = field(default=NON_COUNTING_STATUS_CODES)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.volume_threshold < self.failure_threshold:
            raise ValueError(f"breaker {self.name}: need 1 <= failure_threshold <= volume_threshold")
        if min(self.window, self.recovery_timeout, self.call_timeout) <= 0:
            raise ValueError(f"breaker {self.name}: window, recovery_timeout and call_timeout must be > 0")

    @property
    def probe_lease(self) -> float:
        """How long the single HALF_OPEN probe may hold its turn before another caller may probe
        (a probe whose process died must not keep the breaker half-open forever)."""
        return self.call_timeout + 5.0


def parse_overrides(raw: str) -> dict[str, dict[str, float]]:
    """`BREAKER_OVERRIDES` JSON, checked: unknown fields are an error, not a silent no-op."""
    if not raw.strip():
        return {}
    overrides = json.loads(raw)
    if not isinstance(overrides, dict):
        raise ValueError("BREAKER_OVERRIDES must be a JSON object of breaker name -> settings")
    for name, values in overrides.items():
        if not isinstance(values, dict) or not set(values) <= set(OVERRIDABLE):
            raise ValueError(f"BREAKER_OVERRIDES[{name!r}] may only set {', '.join(OVERRIDABLE)}")
    return overrides


def build_configs(declared: Mapping[str, Mapping[str, float]],
                  overrides: Mapping[str, Mapping[str, float]]) -> dict[str, BreakerConfig]:
    known = {f.name for f in fields(BreakerConfig)}
    configs = {}
    for name, values in declared.items():
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"breaker {name}: unknown settings {sorted(unknown)}")
        configs[name] = BreakerConfig(name=name, **{**values, **overrides.get(name, {})})
    for name in overrides:
        if name not in configs and not name.startswith(INTEGRATION_PREFIX):
            raise ValueError(f"BREAKER_OVERRIDES names an unknown breaker: {name!r}")
    return configs


def config_for(name: str, configs: Mapping[str, BreakerConfig],
               overrides: Mapping[str, Mapping[str, float]]) -> BreakerConfig:
    if name in configs:
        return configs[name]
    if name.startswith(INTEGRATION_PREFIX) and "integration" in configs:
        return replace(configs["integration"], name=name, **overrides.get(name, {}))
    raise KeyError(f"no breaker is declared for {name!r}")
