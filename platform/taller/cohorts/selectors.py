"""Reads for cohorts: rosters and the gradebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from taller.accounts.models import User
from taller.accounts.roles import Role
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
    # Whether the best score was only reached after the cohort's deadline (None without a
    # deadline or a score). No penalty is applied here: the late policy comes later.
    late: bool | None = None


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
    # One pass over the cohort's graded runs; the platform's own failures are no scores.
    graded: dict[tuple[int, int], list[tuple[float, float, datetime]]] = {}
    for student_id, exercise_id, score, top, submitted_at in (
        in_cohort.filter(score__isnull=False)
        .exclude(status=Submission.Status.INTERNAL_ERROR)
        .values_list("student_id", "exercise_id", "score", "max_score", "submitted_at")
    ):
        graded.setdefault((student_id, exercise_id), []).append(
            (score or 0.0, top or 0.0, submitted_at)
        )
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
            cells[exercise.slug] = _cell(
                graded.get(key, []), attempts.get(key, 0), deadlines.get(exercise.pk)
            )
        total = sum(c.best_score or 0.0 for c in cells.values())
        rows.append(GradebookRow(student=student, cells=cells, total=total))
    return Gradebook(cohort=cohort, columns=columns, rows=rows)


def _cell(
    runs: list[tuple[float, float, datetime]], attempts: int, deadline: datetime | None
) -> GradebookCell:
    if not runs:
        return GradebookCell(best_score=None, max_score=None, attempts=attempts)
    best = max(score for score, _top, _at in runs)
    top = max(top for _score, top, _at in runs)
    late = None
    if deadline is not None:
        late = not any(score >= best and at <= deadline for score, _top, at in runs)
    return GradebookCell(best_score=best, max_score=top, attempts=attempts, late=late)


def cohort_by_invite(code: str) -> Cohort | None:
    """The cohort an invite link points to; None for an unknown or withdrawn link."""
    if not code:
        return None
    return Cohort.objects.filter(invite_code=code).first()


@dataclass(frozen=True)
class DeadlineRow:
    exercise: Exercise
    deadline: datetime | None


def cohort_deadline_rows(cohort: Cohort) -> list[DeadlineRow]:
    """One row per published exercise of the cohort's course, in course order, with the
    cohort's deadline for it (None: no deadline)."""
    deadlines = {d.exercise_id: d.deadline for d in CohortExercise.objects.filter(cohort=cohort)}
    exercises = (
        published_exercises()
        .filter(section__course_id=cohort.course_id)
        .select_related("section")
        .order_by("section__number", "order", "slug")
    )
    return [DeadlineRow(exercise=e, deadline=deadlines.get(e.pk)) for e in exercises]


def instructor_choices(cohort: Cohort | None = None) -> QuerySet[User]:
    """Who may be made an instructor of a cohort: people with the instructor role, plus
    the cohort's current instructors even if they lost the role, so that saving the form
    drops nobody silently (unticking them does)."""
    wanted = Q(groups__name=Role.INSTRUCTOR.value)
    if cohort is not None and cohort.pk:
        wanted |= Q(taught_cohorts=cohort)
    return User.objects.filter(wanted).distinct().order_by("first_name", "last_name", "username")


def cohort_course_locked(cohort: Cohort) -> bool:
    """A cohort with deadlines or submissions keeps its course: both belong to it."""
    return (
        CohortExercise.objects.filter(cohort=cohort).exists()
        or Submission.objects.filter(cohort=cohort).exists()
    )
