"""Signing in by user name and password, as Django's ModelBackend does."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from taller.accounts.models import User
from taller.accounts.roles import user_with_roles


class RolesModelBackend(ModelBackend):
    """Django's ModelBackend, whose signed-in user arrives with their roles.

    Every page asks for the roles (the navigation, who may watch a run): loading them with
    the user spares each page a query of its own.
    """

    def get_user(self, user_id: Any) -> User | None:  # type: ignore[override]
        user = user_with_roles(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
