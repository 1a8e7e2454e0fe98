"""Reads for cohorts: rosters and the gradebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.cohorts.late_policy import LateOutcome, late_policy_apply
from taller.cohorts.models import Cohort, CohortExercise, Enrollment
from taller.courses.models import Exercise
from taller.courses.selectors import published_exercises
from taller.submissions.models import Submission, TestResult
from taller_grader.results import TestStatus


def cohort_enrollments(cohort: Cohort) -> QuerySet[Enrollment]:
    return cohort.enrollments.select_related("student").order_by("student__username")


@dataclass(frozen=True)
class GradebookCell:
    # The cell's value: the best score over the student's graded attempts once the
    # cohort's late policy is applied to each (see late_policy.py).
    best_score: float | None
    max_score: float | None
    attempts: int
    # Whether the attempt that counts was late (None without a deadline or a score).
    late: bool | None = None
    # That attempt before the policy, and what the policy did to it.
    raw_score: float | None = None
    days_late: int = 0
    penalty_percent: float = 0.0
    accepted: bool = True
    # The best any graded attempt earned, late or not: full marks here is "passed".
    best_raw_score: float | None = None

    @property
    def passed(self) -> bool:
        if self.best_raw_score is None or not self.max_score:
            return False
        return self.best_raw_score >= self.max_score


@dataclass(frozen=True)
class GradebookRow:
    student: User
    # In the gradebook's column order.
    cells: dict[str, GradebookCell]
    total: float


@dataclass(frozen=True)
class GradebookColumn:
    exercise: Exercise
    deadline: datetime | None


@dataclass(frozen=True)
class Gradebook:
    cohort: Cohort
    columns: list[GradebookColumn]
    rows: list[GradebookRow] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    score: float
    max_score: float
    # When the student submitted the code: a regrade's original attempt's time.
    submitted_at: datetime


def cohort_exercises(cohort: Cohort) -> list[GradebookColumn]:
    """The cohort's course's published exercises in course order, with their deadlines."""
    exercises = (
        published_exercises()
        .filter(section__course=cohort.course)
        .select_related("section")
        .order_by("section__number", "order", "slug")
    )
    deadlines = {d.exercise_id: d.deadline for d in CohortExercise.objects.filter(cohort=cohort)}
    return [GradebookColumn(exercise=e, deadline=deadlines.get(e.pk)) for e in exercises]


def cohort_gradebook(cohort: Cohort, students: list[User] | None = None) -> Gradebook:
    """Best score per enrolled student per published exercise, late policy applied.

    Counts what was graded within the cohort; the platform's own failures
    (internal-error) are not scores. Attempts are the student's, regrades excluded;
    a regrade's score counts at the time of the attempt it regrades. A fixed number of
    queries, however many students. `students`: only these rows (the LMS's grade sync
    asks for one student's).
    """
    columns = cohort_exercises(cohort)
    if students is None:
        students = [e.student for e in cohort_enrollments(cohort)]
    in_cohort = Submission.objects.filter(cohort=cohort, student__in=students)
    graded: dict[tuple[int, int], list[_Run]] = {}
    for student_id, exercise_id, score, top, submitted_at, original_at in (
        in_cohort.filter(score__isnull=False)
        .exclude(status=Submission.Status.INTERNAL_ERROR)
        .values_list(
            "student_id",
            "exercise_id",
            "score",
            "max_score",
            "submitted_at",
            "regrade_of__submitted_at",
        )
    ):
        graded.setdefault((student_id, exercise_id), []).append(
            _Run(score or 0.0, top or 0.0, original_at or submitted_at)
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
        for column in columns:
            key = (student.pk, column.exercise.pk)
            cells[column.exercise.slug] = _cell(
                cohort, graded.get(key, []), attempts.get(key, 0), column.deadline
            )
        total = sum(c.best_score or 0.0 for c in cells.values())
        rows.append(GradebookRow(student=student, cells=cells, total=total))
    return Gradebook(cohort=cohort, columns=columns, rows=rows)


def attempt_outcome(
    cohort: Cohort, submission: Submission, deadline: datetime | None
) -> LateOutcome:
    """One graded attempt under the cohort's late policy (a regrade at its original's time).

    Expects `regrade_of` loaded along with the submission."""
    original = submission.regrade_of
    return late_policy_apply(
        score=submission.score or 0.0,
        submitted_at=original.submitted_at if original else submission.submitted_at,
        deadline=deadline,
        penalty_percent_per_day=cohort.late_penalty_percent_per_day,
        days_accepted=cohort.late_days_accepted,
    )


def _cell(
    cohort: Cohort, runs: list[_Run], attempts: int, deadline: datetime | None
) -> GradebookCell:
    if not runs:
        return GradebookCell(best_score=None, max_score=None, attempts=attempts)
    outcomes = [
        late_policy_apply(
            score=run.score,
            submitted_at=run.submitted_at,
            deadline=deadline,
            penalty_percent_per_day=cohort.late_penalty_percent_per_day,
            days_accepted=cohort.late_days_accepted,
        )
        for run in runs
    ]
    # On a tie the attempt without a penalty (then the higher raw score) is the one shown.
    best = max(outcomes, key=lambda o: (o.effective, -o.days_late, o.raw))
    return GradebookCell(
        best_score=best.effective,
        max_score=max(run.max_score for run in runs),
        attempts=attempts,
        late=None if deadline is None else best.late,
        raw_score=best.raw,
        days_late=best.days_late,
        penalty_percent=best.penalty_percent,
        accepted=best.accepted,
        best_raw_score=max(run.score for run in runs),
    )


def cohort_by_invite(code: str) -> Cohort | None:
    """The cohort an invite link points to; None for an unknown or withdrawn link."""
    if not code:
        return None
    return Cohort.objects.filter(invite_code=code).first()


# The score distribution's bins, in percent of the exercise's maximum: [low, high),
# the last one full marks alone.
HISTOGRAM_BINS: tuple[tuple[int, int], ...] = (
    (0, 20),
    (20, 40),
    (40, 60),
    (60, 80),
    (80, 100),
    (100, 101),
)


@dataclass(frozen=True)
class HistogramBin:
    low: int
    high: int
    count: int

    @property
    def full_marks(self) -> bool:
        return self.low == 100


@dataclass(frozen=True)
class FailingTest:
    name: str
    failed: int
    # Latest graded runs that had this test at all.
    runs: int


@dataclass(frozen=True)
class ExerciseStats:
    column: GradebookColumn
    enrolled: int
    attempted: int
    passed: int
    # Over the students with a score, on the gradebook's (late-policy) value.
    histogram: list[HistogramBin]
    failing_tests: list[FailingTest]

    @property
    def scored(self) -> int:
        return sum(b.count for b in self.histogram)


@dataclass(frozen=True)
class CohortDashboard:
    cohort: Cohort
    enrolled: int
    exercises: list[ExerciseStats]


def cohort_dashboard(cohort: Cohort, *, top_tests: int = 5) -> CohortDashboard:
    """Per exercise: who attempted, who passed (full marks on any graded attempt), how
    the scores spread, and which tests fail most in each student's latest graded run."""
    gradebook = cohort_gradebook(cohort)
    failing = _failing_tests(cohort, [row.student.pk for row in gradebook.rows])
    stats = []
    for column in gradebook.columns:
        cells = [row.cells[column.exercise.slug] for row in gradebook.rows]
        counts = [0] * len(HISTOGRAM_BINS)
        for cell in cells:
            if cell.best_score is None or not cell.max_score:
                continue
            percent = 100.0 * cell.best_score / cell.max_score
            for i, (low, high) in enumerate(HISTOGRAM_BINS):
                if low <= percent < high or (i == len(HISTOGRAM_BINS) - 1 and percent >= low):
                    counts[i] += 1
                    break
        stats.append(
            ExerciseStats(
                column=column,
                enrolled=len(cells),
                attempted=sum(1 for c in cells if c.attempts),
                passed=sum(1 for c in cells if c.passed),
                histogram=[
                    HistogramBin(low, high, n)
                    for (low, high), n in zip(HISTOGRAM_BINS, counts, strict=True)
                ],
                failing_tests=failing.get(column.exercise.pk, [])[:top_tests],
            )
        )
    return CohortDashboard(cohort=cohort, enrolled=len(gradebook.rows), exercises=stats)


def _failing_tests(cohort: Cohort, student_ids: list[int]) -> dict[int, list[FailingTest]]:
    # Each student's latest attempt per exercise (the highest attempt number), and of
    # its runs the latest: a regrade run after the student moved on does not count as
    # their current state, but the newest grading of their current code does.
    # Picked in Python, not with DISTINCT ON: the embedded default runs on SQLite.
    latest: dict[tuple[int, int], int] = {}
    for pk, student_id, exercise_id in (
        Submission.objects.filter(cohort=cohort, student_id__in=student_ids, score__isnull=False)
        .exclude(status=Submission.Status.INTERNAL_ERROR)
        .order_by("student_id", "exercise_id", "-attempt", "-submitted_at", "-id")
        .values_list("id", "student_id", "exercise_id")
    ):
        latest.setdefault((student_id, exercise_id), pk)
    rows = (
        TestResult.objects.filter(submission_id__in=list(latest.values()))
        .values("submission__exercise_id", "name")
        .annotate(
            failed=Count("id", filter=Q(status=TestStatus.FAILED.value)),
            runs=Count("id"),
        )
        .filter(failed__gt=0)
        .order_by("-failed", "name")
    )
    by_exercise: dict[int, list[FailingTest]] = {}
    for r in rows:
        by_exercise.setdefault(r["submission__exercise_id"], []).append(
            FailingTest(name=r["name"], failed=r["failed"], runs=r["runs"])
        )
    return by_exercise


def cohort_student(cohort: Cohort, user_id: int) -> User | None:
    """A student enrolled in the cohort, or None."""
    enrollment = cohort.enrollments.select_related("student").filter(student_id=user_id).first()
    return enrollment.student if enrollment else None


@dataclass(frozen=True)
class AttemptRun:
    submission: Submission
    # None while the run is not graded (queued, running, internal error).
    outcome: LateOutcome | None
    regrades: list[AttemptRun] = field(default_factory=list)


@dataclass(frozen=True)
class StudentExercise:
    column: GradebookColumn
    # The student's attempts, newest first, each with its regrades oldest first.
    attempts: list[AttemptRun]


def cohort_student_attempts(cohort: Cohort, student: User) -> list[StudentExercise]:
    """Everything a student submitted in the cohort, per exercise, with code and tests."""
    columns = cohort_exercises(cohort)
    submissions = (
        Submission.objects.filter(cohort=cohort, student=student)
        .select_related("exercise", "grader_version", "regrade_of")
        .prefetch_related("tests")
        .order_by("submitted_at", "id")
    )
    deadlines = {c.exercise.pk: c.deadline for c in columns}
    originals: dict[int, AttemptRun] = {}
    per_exercise: dict[int, list[AttemptRun]] = {}
    orphans: list[tuple[int, AttemptRun]] = []
    for submission in submissions:
        graded = (
            submission.score is not None
            and submission.status != Submission.Status.INTERNAL_ERROR
            and submission.is_final
        )
        run = AttemptRun(
            submission=submission,
            outcome=attempt_outcome(cohort, submission, deadlines.get(submission.exercise_id))
            if graded
            else None,
        )
        if submission.regrade_of_id is None:
            originals[submission.pk] = run
            per_exercise.setdefault(submission.exercise_id, []).append(run)
        else:
            orphans.append((submission.regrade_of_id, run))
    for root_id, run in orphans:
        root = originals.get(root_id)
        if root is not None:
            root.regrades.append(run)
        else:
            # Its original is in another cohort or gone: shown on its own.
            per_exercise.setdefault(run.submission.exercise_id, []).append(run)
    return [
        StudentExercise(column=c, attempts=list(reversed(per_exercise.get(c.exercise.pk, []))))
        for c in columns
    ]


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
