from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.accounts.services import create_user
from taller.cohorts.services import cohort_create, enrollment_create
from taller.courses.selectors import course_get

DEMO = [("estudiante", Role.STUDENT), ("profesora", Role.INSTRUCTOR), ("admin", Role.ADMIN)]


class Command(BaseCommand):
    help = "Create demo accounts (a student, an instructor, an admin) and a demo cohort."

    def handle(self, *args: Any, **options: Any) -> None:
        # Random passwords, kept locally so running again prints the same ones.
        store = Path(settings.BASE_DIR) / "var" / "demo-accounts.json"
        store.parent.mkdir(parents=True, exist_ok=True)
        saved: dict[str, str] = json.loads(store.read_text()) if store.exists() else {}
        users: dict[str, User] = {}
        for username, role in DEMO:
            user = User.objects.filter(username=username).first()
            if user is None:
                password = saved.get(username) or secrets.token_urlsafe(9)
                user = create_user(username=username, password=password, role=role)
                saved[username] = password
            users[username] = user
        store.write_text(json.dumps(saved, indent=2))
        store.chmod(0o600)

        course = course_get()
        if course is not None and not course.cohorts.exists():
            today = timezone.localdate()
            cohort = cohort_create(
                name="Demo",
                course=course,
                starts_on=today,
                ends_on=today + timedelta(days=90),
                instructors=[users["profesora"]],
            )
            enrollment_create(cohort=cohort, student=users["estudiante"])

        self.stdout.write("Demo accounts (user / password / role):")
        for username, role in DEMO:
            password = saved.get(username, "(set before; unchanged)")
            self.stdout.write(f"  {username:<11} {password:<14} {role.value}")
