"""Reads for submissions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from taller.accounts.models import User
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise, GraderVersion
from taller.submissions import sql
from taller.submissions.models import RegradeBatch, Submission

# Versions worth grading with: the ones that grade (or graded) students, and validated
# ones not yet published, to see what a new grader would do before publishing it. A
# draft or invalid suite never grades anyone.
REGRADE_STATES = (GraderVersion.State.PUBLISHED, GraderVersion.State.VALID)


def student_attempts(*, student: User, exercise: Exercise) -> QuerySet[Submission]:
    """A student's own attempts at an exercise, newest first. Never anyone else's."""
    return Submission.objects.filter(student=student, exercise=exercise).order_by(
        "-submitted_at", "-id"
    )


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One line of a student's attempts table."""

    pk: int
    attempt: int
    status: str
    score: float | None
    max_score: float | None
    submitted_at: datetime


def attempt_rows(*, student: User, exercise: Exercise, limit: int = 20) -> list[AttemptRow]:
    """The newest of a student's attempts (student_attempts' order) as a table shows them.

    Plain rows, not model objects: without their code and results, which run to 100 KB and
    more an attempt (a chatty program's output; with 20 such attempts the page took 40 ms,
    15 ms without), and without building a model object per row (20 rows: 3.0 ms, 1.9 ms
    as plain rows). Written out in SQL because every exercise page runs it: Django took
    0.55 ms to compile the query, the whole of it 0.96 ms, 0.24 ms written out (measured in
    process on PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(_attempt_rows_sql(), [student.pk, exercise.pk, limit])
        rows = cursor.fetchall()
    # SQLite (the embedded default) hands back naive UTC datetimes; the ORM would make them
    # aware, and the template shows them in the site's time zone.
    return [
        AttemptRow(pk, attempt, status, score, max_score, _aware(submitted_at))
        for pk, attempt, status, score, max_score, submitted_at in rows
    ]


@cache
def _attempt_rows_sql() -> str:
    shown = ", ".join(
        sql.column(name)
        for name in ("id", "attempt", "status", "score", "max_score", "submitted_at")
    )
    # Only the model's own table and column names go in; the values are parameters.
    return f"""SELECT {shown} FROM {sql.table()}
        WHERE {sql.column("student")} = %s AND {sql.column("exercise")} = %s
        ORDER BY {sql.column("submitted_at")} DESC, {sql.column("id")} DESC
        LIMIT %s"""  # noqa: S608


def _aware(moment: datetime) -> datetime:
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


def submission_get(submission_id: int) -> Submission:
    return Submission.objects.get(pk=submission_id)


def latest_attempts(cohort: Cohort, exercise: Exercise) -> list[Submission]:
    """Each of the cohort's students' latest own attempt at the exercise (no regrades)."""
    latest: dict[int, Submission] = {}
    # Picked in Python, not with DISTINCT ON: the embedded default runs on SQLite.
    for submission in Submission.objects.filter(
        cohort=cohort,
        exercise=exercise,
        regrade_of__isnull=True,
        student__enrollments__cohort=cohort,
    ).order_by("student_id", "-submitted_at", "-id"):
        latest.setdefault(submission.student_id, submission)
    return list(latest.values())


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


@dataclass(frozen=True)
class RegradeRow:
    student: str
    attempt: int
    original_id: int
    regrade_id: int
    status: str
    status_label: str
    old_score: float | None
    old_max: float | None
    new_score: float | None
    new_max: float | None


@dataclass(frozen=True)
class RegradeProgress:
    batch: RegradeBatch
    total: int
    done: int
    counts: list[dict[str, Any]]  # [{status, label, n}], in the order of Status
    rows: list[RegradeRow]
    skipped: list[str]  # students whose attempt was still being graded

    @property
    def finished(self) -> bool:
        return self.done == self.total

    def as_json(self) -> dict[str, Any]:
        return {
            "batch": self.batch.pk,
            "total": self.total,
            "done": self.done,
            "finished": self.finished,
            "counts": self.counts,
            "rows": [asdict(r) for r in self.rows],
        }


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def regrade_batches_of(cohort: Cohort) -> QuerySet[RegradeBatch]:
    """A cohort's regrades, newest first, each with `total` and `done` counted."""
    in_flight = [Submission.Status.QUEUED, Submission.Status.RUNNING]
    return (
        RegradeBatch.objects.filter(cohort=cohort)
        .select_related("exercise", "grader_version", "requested_by")
        .annotate(
            total=Count("submissions"),
            done=Count("submissions", filter=~Q(submissions__status__in=in_flight)),
        )
        .order_by("-created_at", "-id")
    )


def regrade_progress(batch: RegradeBatch) -> RegradeProgress:
    """Done/total, counts per status, and each student's score before and after.

    "Before" is the latest finished result of the same attempt before this batch's run
    (the attempt itself, or an earlier regrade of it).
    """
    regrades = list(
        batch.submissions.select_related("student").order_by(
            "student__last_name", "student__first_name", "student__username"
        )
    )
    roots = [s.regrade_of_id for s in regrades if s.regrade_of_id]
    earlier: dict[int, Submission] = {}
    history = (
        Submission.objects.filter(Q(pk__in=roots) | Q(regrade_of_id__in=roots))
        .exclude(regrade_batch=batch)
        .exclude(status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING])
        .filter(submitted_at__lte=batch.created_at)
        .order_by("submitted_at", "id")
    )
    for past in history:
        earlier[past.regrade_of_id or past.pk] = past  # the latest one wins
    labels = dict(Submission.Status.choices)
    rows = []
    tally: dict[str, int] = {}
    for s in regrades:
        old = earlier.get(s.regrade_of_id or 0)
        tally[s.status] = tally.get(s.status, 0) + 1
        rows.append(
            RegradeRow(
                student=_name(s.student),
                attempt=s.attempt,
                original_id=s.regrade_of_id or s.pk,
                regrade_id=s.pk,
                status=s.status,
                status_label=str(labels.get(s.status, s.status)),
                old_score=old.score if old else None,
                old_max=old.max_score if old else None,
                new_score=s.score,
                new_max=s.max_score,
            )
        )
    skipped = [
        _name(s.student)
        for s in Submission.objects.filter(pk__in=batch.skipped).select_related("student")
    ]
    counts = [
        {"status": status, "label": str(label), "n": tally[status]}
        for status, label in Submission.Status.choices
        if status in tally
    ]
    done = sum(1 for s in regrades if s.is_final)
    return RegradeProgress(batch, len(regrades), done, counts, rows, skipped)


def regrade_versions(exercise: Exercise) -> QuerySet[GraderVersion]:
    """The versions an exercise may be regraded with, newest first."""
    return exercise.versions.filter(state__in=REGRADE_STATES).order_by("-number")


def submission_history(submission: Submission) -> QuerySet[Submission]:
    """An attempt and every regrade of it, oldest first."""
    root_id = submission.regrade_of_id or submission.pk
    return (
        Submission.objects.filter(Q(pk=root_id) | Q(regrade_of_id=root_id))
        .select_related("grader_version", "regrade_batch")
        .order_by("submitted_at", "id")
    )
