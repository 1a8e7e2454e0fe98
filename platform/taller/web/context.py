from __future__ import annotations

from django.http import HttpRequest

from taller.accounts.roles import is_staff_member


def roles(request: HttpRequest) -> dict[str, bool]:
    """What the navigation shows depends on the role, decided in accounts.roles."""
    user = getattr(request, "user", None)
    return {"is_teaching_staff": bool(user is not None and is_staff_member(user))}
