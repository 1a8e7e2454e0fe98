"""Reads for cohorts: rosters and the gradebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, QuerySet

from taller.accounts.models import User
from taller.cohorts.models import Cohort, CohortExercise, Enrollment
from taller.courses.models import Exercise
from taller.courses.selectors import published_exercises
from taller.submissions.models import Submission


def cohort_enrollments(cohort: Cohort) -> QuerySet[Enrollment]:
    return cohort.enrollments.select_related("student").order_by("student__username")


@dataclass(frozen=True)
class GradebookCell:
    best_score: float | None
    max_score: float | None
    attempts: int


@dataclass(frozen=True)
class GradebookRow:
    student: User
    cells: dict[str, GradebookCell]
    total: float


@dataclass(frozen=True)
class GradebookColumn:
    exercise: Exercise
    # The cohort's deadline; the late policy is applied in a later issue, not here.
    deadline: datetime | None


@dataclass(frozen=True)
class Gradebook:
    cohort: Cohort
    columns: list[GradebookColumn]
    rows: list[GradebookRow] = field(default_factory=list)


def cohort_gradebook(cohort: Cohort) -> Gradebook:
    """Best score per enrolled student per published exercise of the cohort's course.

    Counts what was graded within the cohort; the platform's own failures
    (internal-error) are not scores. Attempts are the student's, regrades excluded.
    """
    exercises = list(
        published_exercises()
        .filter(section__course=cohort.course)
        .select_related("section")
        .order_by("section__number", "order", "slug")
    )
    deadlines = {d.exercise_id: d.deadline for d in CohortExercise.objects.filter(cohort=cohort)}
    columns = [GradebookColumn(exercise=e, deadline=deadlines.get(e.pk)) for e in exercises]
    students = [e.student for e in cohort_enrollments(cohort)]
    in_cohort = Submission.objects.filter(cohort=cohort, student__in=students)
    best = {
        (r["student_id"], r["exercise_id"]): (r["best"], r["top"])
        for r in in_cohort.filter(score__isnull=False)
        .exclude(status=Submission.Status.INTERNAL_ERROR)
        .values("student_id", "exercise_id")
        .annotate(best=Max("score"), top=Max("max_score"))
    }
    attempts = {
        (r["student_id"], r["exercise_id"]): r["n"]
        for r in in_cohort.filter(regrade_of__isnull=True)
        .values("student_id", "exercise_id")
        .annotate(n=Count("id"))
    }
    rows = []
    for student in students:
        cells = {}
        for exercise in exercises:
            key = (student.pk, exercise.pk)
            score, top = best.get(key, (None, None))
            cells[exercise.slug] = GradebookCell(
                best_score=score, max_score=top, attempts=attempts.get(key, 0)
            )
        total = sum(c.best_score or 0.0 for c in cells.values())
        rows.append(GradebookRow(student=student, cells=cells, total=total))
    return Gradebook(cohort=cohort, columns=columns, rows=rows)
