"""Reads for the course pages."""

from __future__ import annotations

from dataclasses import dataclass

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


def exercise_get(slug: str) -> Exercise | None:
    return (
        published_exercises().select_related("current_version", "section").filter(slug=slug).first()
    )


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
