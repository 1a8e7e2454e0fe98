from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoursesConfig(AppConfig):
    name = "taller.courses"
    verbose_name = _("Curso")

    def ready(self) -> None:
        from taller.courses import signals  # noqa: F401
