"""Reads for the instructors' pages."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from taller.accounts.models import User
from taller.accounts.roles import staff_cohorts
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise, GraderVersion


def cohort_or_404(user: User | AnonymousUser, cohort_id: int) -> Cohort:
    """A cohort this person may read at all; 404 otherwise (its existence is not told)."""
    return get_object_or_404(staff_cohorts(user).select_related("course"), pk=cohort_id)


def exercises_for_staff() -> QuerySet[Exercise]:
    """Every exercise, published or not, with its current version."""
    return Exercise.objects.select_related("section", "current_version").order_by(
        "section__number", "order", "slug"
    )


def versions_of(exercise: Exercise) -> QuerySet[GraderVersion]:
    return exercise.versions.select_related("created_by").order_by("-number")


def any_validating(exercise: Exercise) -> bool:
    return exercise.versions.filter(
        state__in=[GraderVersion.State.DRAFT, GraderVersion.State.VALIDATING]
    ).exists()


def exercise_for_staff(slug: str) -> Exercise | None:
    return Exercise.objects.filter(slug=slug).first()


def version_of(slug: str, number: int) -> GraderVersion | None:
    return GraderVersion.objects.filter(exercise__slug=slug, number=number).first()
