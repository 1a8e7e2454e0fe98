"""DRF adapters over taller.accounts.roles; no decision is made here."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from taller.accounts import roles


class IsStaffMember(BasePermission):
    """Instructors and admins (cohort endpoints); objects are then scoped per cohort."""

    message = "Solo el equipo docente puede usar este recurso."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and roles.is_staff_member(request.user))
