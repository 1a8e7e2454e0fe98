"""Reads for the course pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Max, QuerySet

from taller.accounts.models import User
from taller.courses.models import Course, Exercise, Section
from taller.submissions.models import Submission


@dataclass(frozen=True)
class ExerciseRow:
    exercise: Exercise
    best_score: float | None
    max_score: float | None
    attempts: int

    @property
    def status(self) -> str:
        if self.best_score is None or self.max_score is None:
            return "none"
        return "passed" if self.best_score >= self.max_score else "failed"


@dataclass(frozen=True)
class SectionRow:
    section: Section
    exercises: list[ExerciseRow]


def course_get() -> Course | None:
    return Course.objects.order_by("pk").first()


def published_exercises() -> QuerySet[Exercise]:
    return Exercise.objects.filter(is_published=True, current_version__isnull=False)


# What a version holds for grading and checking, not for its page: loaded only if asked.
GRADING_FIELDS = tuple(
    f"current_version__{name}"
    for name in ("solution_files", "alternative_files", "wrong_files", "suite_files", "validation")
)


# Every exercise page starts with this read, the dearest query of the page (measured by
# bench/scale.py); an exercise changes rarely, and every change empties its entry
# (courses/signals.py). The time bounds what no signal sees (a slug renamed in place).
EXERCISE_CACHE_SECONDS = 300


def exercise_cache_key(slug: str) -> str:
    return f"exercise:{slug}"


def exercise_get(slug: str) -> Exercise | None:
    """A published exercise with its current version (the page's fields) and section."""
    key = exercise_cache_key(slug)
    exercise: Exercise | None = cache.get(key)
    if exercise is None:
        exercise = (
            published_exercises()
            .select_related("current_version", "section")
            .defer(*GRADING_FIELDS)
            .filter(slug=slug)
            .first()
        )
        if exercise is not None:
            cache.set(key, exercise, EXERCISE_CACHE_SECONDS)
    return exercise


def course_outline(course: Course, user: User) -> list[SectionRow]:
    """The sections in order, each exercise with the student's best score so far."""
    graded = Submission.objects.filter(student=user, score__isnull=False).exclude(
        status=Submission.Status.INTERNAL_ERROR
    )
    best: dict[int, tuple[float, float]] = {
        row["exercise_id"]: (row["best"], row["top"])
        for row in graded.values("exercise_id").annotate(best=Max("score"), top=Max("max_score"))
    }
    counts: dict[int, int] = {}
    for exercise_id in Submission.objects.filter(student=user).values_list(
        "exercise_id", flat=True
    ):
        counts[exercise_id] = counts.get(exercise_id, 0) + 1
    rows = []
    for section in course.sections.order_by("number"):
        exercises = [
            ExerciseRow(
                exercise=e,
                best_score=best[e.pk][0] if e.pk in best else None,
                max_score=best[e.pk][1] if e.pk in best else None,
                attempts=counts.get(e.pk, 0),
            )
            for e in published_exercises().filter(section=section).order_by("order", "slug")
        ]
        rows.append(SectionRow(section=section, exercises=exercises))
    return rows
