from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "taller.live"
    verbose_name = "Live"
