from __future__ import annotations

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A person on the platform. What they may do follows from their role (see roles.py)."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
