"""Reads for the instructors' pages."""

from __future__ import annotations

from django.db.models import QuerySet

from taller.courses.models import Exercise, GraderVersion


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
