"""Reads for submissions."""

from __future__ import annotations

from django.db.models import QuerySet

from taller.accounts.models import User
from taller.courses.models import Exercise
from taller.submissions.models import Submission


def student_attempts(*, student: User, exercise: Exercise) -> QuerySet[Submission]:
    """A student's own attempts at an exercise, newest first. Never anyone else's."""
    return Submission.objects.filter(student=student, exercise=exercise).order_by(
        "-submitted_at", "-id"
    )
