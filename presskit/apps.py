from django.apps import AppConfig


class PresskitConfig(AppConfig):
    name = "presskit"
    verbose_name = "Presskits"
