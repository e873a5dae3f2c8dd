from django.apps import AppConfig
from django.core.signals import setting_changed


class ResilienceConfig(AppConfig):
    name = "resilience"
    verbose_name = "Resilience"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from resilience import breakers
        from resilience.metrics import BreakerCollector

        def settings_changed(setting: str, **kwargs: object) -> None:
            if setting.startswith("RESILIENCE_") or setting == "BREAKER_OVERRIDES":
                breakers.reset_registry()

        setting_changed.connect(settings_changed, weak=False, dispatch_uid="resilience-settings")
        REGISTRY.register(BreakerCollector(breakers.snapshots))
