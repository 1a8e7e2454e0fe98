"""Writes for accounts: roles as groups, users with a role."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from taller.accounts.models import User
from taller.accounts.roles import ROLE_PERMISSIONS, Role, forget_roles


@transaction.atomic
def ensure_role_groups() -> dict[Role, Group]:
    """Create (or bring up to date) one group per role with its permissions. Idempotent."""
    groups: dict[Role, Group] = {}
    # post_migrate may run before every app's permissions exist; create them first.
    labels = {dotted.split(".")[0] for perms in ROLE_PERMISSIONS.values() for dotted in perms}
    for label in labels:
        create_permissions(apps.get_app_config(label), verbosity=0)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
        groups[role] = group
    return groups


@transaction.atomic
def create_user(
    *, username: str, password: str | None, role: Role, email: str = "", first_name: str = ""
) -> User:
    """A user with a role. No password (None): the account is activated by a link."""
    groups = ensure_role_groups()
    user = User.objects.create_user(
        username=username, password=password, email=email, first_name=first_name
    )
    user.groups.add(groups[role])
    if role is Role.ADMIN:
        # Admins manage cohorts and users through the Django admin as a fallback.
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user


@transaction.atomic
def set_role(user: User, role: Role) -> None:
    groups = ensure_role_groups()
    user.groups.remove(*groups.values())
    user.groups.add(groups[role])
    forget_roles(user)
    user.is_staff = role is Role.ADMIN or user.is_superuser
    user.save(update_fields=["is_staff"])


def activation_path(user_id: int) -> str:
    """A one-time link where an account without a password chooses one."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = User.objects.get(pk=user_id)
    token = default_token_generator.make_token(user)
    return reverse("activate", args=[urlsafe_base64_encode(force_bytes(user.pk)), token])
