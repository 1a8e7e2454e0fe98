from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(sender: AppConfig, **kwargs: Any) -> None:
    from taller.accounts.services import ensure_role_groups

    ensure_role_groups()


class AccountsConfig(AppConfig):
    name = "taller.accounts"
    verbose_name = _("Cuentas")

    def ready(self) -> None:
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="taller-roles")
