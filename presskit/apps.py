from django.apps import AppConfig


class PresskitConfig(AppConfig):
    name = "presskit"
    verbose_name = "Presskits"

    def ready(self) -> None:
        from presskit.exports import VERSION_EXPORT
        from presskit.integrations import INTEGRATION_SYNC
        from presskit.photos import PHOTO_STORE
        from resilience.queue import job_type_register

        job_type_register(INTEGRATION_SYNC)
        job_type_register(PHOTO_STORE)
        job_type_register(VERSION_EXPORT)
