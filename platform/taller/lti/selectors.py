"""Reads for LTI: the values an LMS asks for, framing origins, grades owed, rosters."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.cache import cache
from django.db.models import Count, F, QuerySet
from lti_tool.models import LtiLineItem, LtiMembership, LtiRegistration

from taller.accounts.models import User
from taller.cohorts.models import Cohort
from taller.cohorts.selectors import cohort_gradebook
from taller.courses.models import Course, Exercise
from taller.lti.models import ContextCohort, ScoreSync
from taller.submissions.models import Submission

FRAME_ORIGINS_CACHE_KEY = "lti:frame-origins"

# Line items say what they grade in their resourceId: one exercise, or the whole course.
EXERCISE_PREFIX = "exercise:"
COURSE_PREFIX = "course:"


def origin_of(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def frame_origins() -> list[str]:
    """The origins of the active platforms' pages, which may show Taller in a frame."""
    origins: list[str] | None = cache.get(FRAME_ORIGINS_CACHE_KEY)
    if origins is None:
        found: set[str] = set()
        for registration in LtiRegistration.objects.active().select_related("taller"):
            platform = getattr(registration, "taller", None)
            lines = platform.frame_origins.split() if platform is not None else []
            if not lines:
                lines = [registration.issuer, registration.auth_url]
            found.update(o for o in map(origin_of, lines) if o)
        origins = sorted(found)
        cache.set(FRAME_ORIGINS_CACHE_KEY, origins, 300)
    return origins


@dataclass(frozen=True)
class Grade:
    score_given: float
    score_maximum: float


def resource_target(resource_id: str) -> Exercise | Course | None:
    if resource_id.startswith(EXERCISE_PREFIX):
        return Exercise.objects.filter(slug=resource_id.removeprefix(EXERCISE_PREFIX)).first()
    if resource_id.startswith(COURSE_PREFIX):
        return Course.objects.filter(slug=resource_id.removeprefix(COURSE_PREFIX)).first()
    return None


def student_grade(cohort: Cohort, student: User, resource_id: str) -> Grade | None:
    """What the gradebook shows for this student (best score, late policy applied) on
    the line item's exercise, or their course total; None before anything is graded."""
    target = resource_target(resource_id)
    if target is None:
        return None
    gradebook = cohort_gradebook(cohort, students=[student])
    if not gradebook.rows:
        return None
    row = gradebook.rows[0]
    if isinstance(target, Exercise):
        cell = row.cells.get(target.slug)
        if cell is None or cell.best_score is None or not cell.max_score:
            return None
        return Grade(score_given=cell.best_score, score_maximum=cell.max_score)
    scored = [c for c in row.cells.values() if c.best_score is not None and c.max_score]
    if not scored:
        return None
    # The course's maximum: every exercise's, as far as any grading has shown it.
    maximum = sum(exercise_max_score(col.exercise) or 0.0 for col in gradebook.columns)
    return Grade(
        score_given=row.total, score_maximum=maximum or sum(c.max_score or 0.0 for c in scored)
    )


def exercise_max_score(exercise: Exercise) -> float | None:
    """The exercise's full marks: what its reference solution earned when its grader was
    validated, else the most any graded run of its current grader could earn."""
    version = exercise.current_version
    if version is not None:
        for row in (version.validation or {}).get("rows", []):
            if row.get("kind") == "solution" and row.get("max_score"):
                return float(row["max_score"])
    top = (
        Submission.objects.filter(exercise=exercise, max_score__isnull=False)
        .order_by("-grader_version__number", "-max_score")
        .values_list("max_score", flat=True)
        .first()
    )
    return float(top) if top else None


def cohort_line_items(cohort: Cohort) -> QuerySet[LtiLineItem]:
    return LtiLineItem.objects.filter(context__taller_cohort__cohort=cohort).order_by("label")


def cohort_score_syncs(cohort: Cohort) -> QuerySet[ScoreSync]:
    return (
        ScoreSync.objects.filter(cohort=cohort)
        .select_related("student", "line_item")
        .order_by("state", "student__username", "line_item__label")
    )


def cohort_contexts(cohort: Cohort) -> QuerySet[ContextCohort]:
    return ContextCohort.objects.filter(cohort=cohort).select_related(
        "context__deployment__registration"
    )


@dataclass(frozen=True)
class RosterRow:
    name: str
    email: str
    account: User | None
    instructor: bool
    learner: bool
    # False: the LMS says they left the course (they stay here, with their work).
    active: bool


def cohort_roster(cohort: Cohort) -> list[RosterRow]:
    memberships = (
        LtiMembership.objects.filter(context__taller_cohort__cohort=cohort)
        .select_related("user__auth_user")
        .order_by("-is_active", "user__family_name", "user__given_name", "user__sub")
    )
    return [
        RosterRow(
            name=m.user.name or f"{m.user.given_name} {m.user.family_name}".strip() or m.user.sub,
            email=m.user.email,
            account=m.user.auth_user,
            instructor=m.is_instructor,
            learner=m.is_learner,
            active=m.is_active,
        )
        for m in memberships
    ]


@dataclass(frozen=True)
class CohortScoresOwed:
    cohort_id: int
    cohort_name: str
    failed: int
    pending: int


@dataclass(frozen=True)
class ScoresOwed:
    platforms: bool  # any registration at all (else the section is left out)
    cohorts: list[CohortScoresOwed]


def scores_owed_by_cohort() -> ScoresOwed:
    """Scores the LMS does not have yet, per cohort: failed sends and ones on their way."""
    if not LtiRegistration.objects.exists():
        return ScoresOwed(platforms=False, cohorts=[])
    counts: dict[tuple[int, str], dict[str, int]] = {}
    for row in (
        ScoreSync.objects.filter(sent_revision__lt=F("revision"))
        .values("cohort_id", "cohort__name", "state")
        .annotate(n=Count("id"))
        .order_by("cohort__name")
    ):
        key = (row["cohort_id"], row["cohort__name"])
        counts.setdefault(key, {})[row["state"]] = row["n"]
    return ScoresOwed(
        platforms=True,
        cohorts=[
            CohortScoresOwed(
                cohort_id=cohort_id,
                cohort_name=name,
                failed=by_state.get(ScoreSync.State.FAILED, 0),
                pending=sum(n for state, n in by_state.items() if state != ScoreSync.State.FAILED),
            )
            for (cohort_id, name), by_state in counts.items()
        ],
    )
