from django.apps import AppConfig


class PresskitConfig(AppConfig):
    name = "presskit"
    verbose_name = "Presskits"

    def ready(self) -> None:
        from presskit.integrations import INTEGRATION_SYNC
        from resilience.queue import job_type_register

        job_type_register(INTEGRATION_SYNC)
