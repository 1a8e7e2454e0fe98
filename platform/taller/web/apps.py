from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "taller.web"
    verbose_name = "Web"
