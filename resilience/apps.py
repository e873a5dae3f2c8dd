from django.apps import AppConfig
from django.core.signals import setting_changed
from django.utils.translation import gettext_lazy as _


class ResilienceConfig(AppConfig):
    name = "resilience"
    verbose_name = _("Resilience")

    def ready(self) -> None:
        from django.db import DatabaseError
        from prometheus_client import REGISTRY

        from resilience import breakers, degradation
        from resilience.queue import job_counts_by
        from resilience.metrics import BreakerCollector, DegradationCollector, QueuedJobCollector
        from resilience.models import QueuedJob

        def settings_changed(setting: str, **kwargs: object) -> None:
            if setting.startswith("RESILIENCE_") or setting == "BREAKER_OVERRIDES":
                breakers.reset_registry()
            if setting.startswith(("RESILIENCE_", "DEGRADATION_")):
                degradation.reset_manager()

        setting_changed.connect(settings_changed, weak=False, dispatch_uid="resilience-settings")
        REGISTRY.register(BreakerCollector(breakers.snapshots))
        REGISTRY.register(DegradationCollector(degradation.degradation_current))
        REGISTRY.register(QueuedJobCollector(lambda: job_counts_by("status", "job_type"), QueuedJob.Status.values,
                                             unavailable=(DatabaseError,)))
        # Every breaker transition may change the level: re-evaluate (DESIGN.md).
        if degradation.on_breaker_transition not in breakers.transition_hooks:
            breakers.transition_hooks.append(degradation.on_breaker_transition)
