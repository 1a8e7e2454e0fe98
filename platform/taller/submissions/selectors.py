"""Reads for submissions."""

from __future__ import annotations

from django.db.models import QuerySet

from taller.accounts.models import User
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise
from taller.submissions.models import Submission


def student_attempts(*, student: User, exercise: Exercise) -> QuerySet[Submission]:
    """A student's own attempts at an exercise, newest first. Never anyone else's."""
    return Submission.objects.filter(student=student, exercise=exercise).order_by(
        "-submitted_at", "-id"
    )


def submissions_filter(
    queryset: QuerySet[Submission],
    *,
    exercise: str | None = None,
    status: str | None = None,
    student: int | None = None,
) -> QuerySet[Submission]:
    """Narrow a list the caller may already see; it never widens it."""
    if exercise:
        queryset = queryset.filter(exercise__slug=exercise)
    if status:
        queryset = queryset.filter(status=status)
    if student is not None:
        queryset = queryset.filter(student_id=student)
    return queryset.select_related("exercise", "student").order_by("-submitted_at", "-id")


def own_submissions(user: User) -> QuerySet[Submission]:
    """What a person submitted themselves (regrades of their attempts included)."""
    return Submission.objects.filter(student=user)


def cohort_submissions(cohort: Cohort) -> QuerySet[Submission]:
    return Submission.objects.filter(cohort=cohort)
