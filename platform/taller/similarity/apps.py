from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimilarityConfig(AppConfig):
    name = "taller.similarity"
    verbose_name = _("Similitud")
