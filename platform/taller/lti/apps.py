from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LtiConfig(AppConfig):
    name = "taller.lti"
    label = "taller_lti"
    verbose_name = _("LTI")

    def ready(self) -> None:
        from taller.lti import signals  # noqa: F401 — connects the receivers
