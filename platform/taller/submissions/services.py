"""Writes for submissions. Grading itself moves the state machine (see grading)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from taller.accounts.models import User
from taller.cohorts.models import Cohort, Enrollment
from taller.courses.models import Exercise, GraderVersion
from taller.grading.services import submission_enqueue
from taller.submissions.messages import refusal_message
from taller.submissions.models import RegradeBatch, Submission
from taller.submissions.selectors import REGRADE_STATES, latest_attempts
from taller_grader.sandbox import files as sandbox_files
from taller_grader.sandbox.api import Limits, SubmissionRejected


class SubmissionRefused(Exception):
    """A refusal, as data: a code and its parameters. The edges word it in the reader's
    language (submissions/messages.py); str() does so in the active one."""

    def __init__(self, code: str, params: Mapping[str, object] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.params = dict(params or {})

    def __str__(self) -> str:
        return refusal_message(self)


class InvalidSubmission(SubmissionRefused, ValueError):
    """Files that cannot even be stored; the message tells the student what to fix."""


class NotRegradable(SubmissionRefused, ValueError):
    """A submission that cannot be graded again right now (still running, no grader)."""


class RateLimited(SubmissionRefused):
    """Too many submissions right now; try again after `retry_after` seconds."""

    def __init__(
        self, code: str, params: Mapping[str, object] | None = None, *, retry_after: int
    ) -> None:
        super().__init__(code, params)
        self.retry_after = retry_after


def _check_rate(student: User) -> None:
    """At most N runs in flight and M submissions a minute per student.

    Called with the student's row locked, so two concurrent submits cannot both pass.
    """
    # Regrades are the staff's doing: they neither block nor use up the student's quota.
    own = Submission.objects.filter(student=student, regrade_of__isnull=True)
    in_flight = own.filter(status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING]).count()
    if in_flight >= settings.TALLER_MAX_IN_FLIGHT:
        raise RateLimited("in_flight", retry_after=5)
    window_start = timezone.now() - timedelta(minutes=1)
    recent = list(
        own.filter(submitted_at__gte=window_start)
        .order_by("submitted_at")
        .values_list("submitted_at", flat=True)
    )
    if len(recent) >= settings.TALLER_SUBMISSIONS_PER_MINUTE:
        wait = 60 - (timezone.now() - recent[0]).total_seconds()
        seconds = max(1, math.ceil(wait))
        raise RateLimited("per_minute", {"seconds": seconds}, retry_after=seconds)


@lru_cache(maxsize=4)
def _shared_modules(runtime_dir: str) -> frozenset[str]:
    return sandbox_files.shared_modules(Path(runtime_dir))


def validate_files(files: Mapping[str, str]) -> dict[str, str]:
    """Every rule the sandbox applies to files, applied before anything is stored.

    The site's limits first (they are stricter than the sandbox's), then the sandbox's
    own rule for names, package.json and files that are also folders
    (taller_grader.sandbox.files): what the site accepts, the sandbox runs, so a refused
    file costs no attempt and says why at once instead of as a `rejected` run.
    """
    if not files:
        raise InvalidSubmission("no_files")
    if len(files) > settings.TALLER_MAX_FILES:
        raise InvalidSubmission(
            "max_files", {"count": len(files), "max": settings.TALLER_MAX_FILES}
        )
    total = 0
    clean: dict[str, str] = {}
    encoded: dict[str, bytes] = {}
    for name, text in files.items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise InvalidSubmission("not_text", {"name": str(name)[:80]})
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidSubmission("content_not_utf8", {"name": name[:80]}) from None
        if len(data) > settings.TALLER_MAX_FILE_BYTES:
            raise InvalidSubmission(
                "max_file_bytes",
                {"name": name[:80], "bytes": len(data), "max": settings.TALLER_MAX_FILE_BYTES},
            )
        total += len(data)
        clean[name] = text
        encoded[name] = data
    if total > settings.TALLER_MAX_TOTAL_BYTES:
        raise InvalidSubmission(
            "max_total_bytes", {"bytes": total, "max": settings.TALLER_MAX_TOTAL_BYTES}
        )
    limits = Limits(
        max_files=settings.TALLER_MAX_FILES,
        max_file_bytes=settings.TALLER_MAX_FILE_BYTES,
        max_total_bytes=settings.TALLER_MAX_TOTAL_BYTES,
    )
    try:
        sandbox_files.validate(encoded, limits, _shared_modules(str(settings.TALLER_RUNTIME_DIR)))
    except SubmissionRejected as exc:
        # The sandbox's own rule, by its code (messages.FILE_RULE_MESSAGES words it).
        raise InvalidSubmission(exc.code, exc.params) from None
    return clean


@transaction.atomic
def submission_create(*, student: User, exercise: Exercise, files: Mapping[str, str]) -> Submission:
    """Store a student's attempt, queued for grading with the exercise's current grader."""
    if exercise.current_version is None:
        raise InvalidSubmission("no_grader")
    clean = validate_files(files)
    enrollment = (
        Enrollment.objects.filter(student=student, cohort__course=exercise.section.course)
        .select_related("cohort")
        .order_by("-cohort__starts_on")
        .first()
    )
    # Lock the student's row: two concurrent submits cannot share an attempt number,
    # nor slip past the rate limit together.
    User.objects.select_for_update().filter(pk=student.pk).first()
    _check_rate(student)
    # The platform's own failures cost no attempt.
    attempts = (
        Submission.objects.filter(student=student, exercise=exercise, regrade_of__isnull=True)
        .exclude(status=Submission.Status.INTERNAL_ERROR)
        .count()
    )
    version = exercise.current_version
    submission = Submission.objects.create(
        student=student,
        exercise=exercise,
        cohort=enrollment.cohort if enrollment else None,
        grader_version=version,
        files=clean,
        attempt=attempts + 1,
        status=Submission.Status.QUEUED,
        queue=version.run_spec.queue,
        queued_at=timezone.now(),
    )
    submission_enqueue(submission)
    return submission


class RegradeInProgress(NotRegradable):
    """The same regrade is already running; `batch` is the one to follow instead."""

    def __init__(self, code: str, batch: RegradeBatch) -> None:
        super().__init__(code)
        self.batch = batch


def _regrade_version(exercise: Exercise, version: GraderVersion | None) -> GraderVersion:
    version = version or exercise.current_version
    if version is None:
        raise NotRegradable("no_grader")
    if version.exercise_id != exercise.pk:
        raise NotRegradable("other_exercise")
    if version.state not in REGRADE_STATES:
        raise NotRegradable("version_state", {"number": version.number, "state": version.state})
    return version


def _regrade_create(
    original: Submission, version: GraderVersion, batch: RegradeBatch | None = None
) -> Submission:
    # A regrade of a regrade still refers to what the student submitted.
    root_id = original.regrade_of_id or original.pk
    submission = Submission.objects.create(
        student_id=original.student_id,
        exercise_id=original.exercise_id,
        cohort_id=original.cohort_id,
        grader_version=version,
        files=dict(original.files),
        attempt=original.attempt,
        regrade_of_id=root_id,
        regrade_batch=batch,
        status=Submission.Status.QUEUED,
        queue=version.run_spec.queue,
        queued_at=timezone.now(),
    )
    submission_enqueue(submission)
    return submission


_IN_FLIGHT = (Submission.Status.QUEUED, Submission.Status.RUNNING)


@transaction.atomic
def submission_regrade(
    *,
    original: Submission,
    version: GraderVersion | None = None,
    refuse_duplicate: bool = False,
) -> Submission:
    """Grade a submission's files again, with `version` or the exercise's current one.

    A new Submission pointing at the student's own attempt: it keeps that attempt's
    number (regrades never count as attempts) and skips the student's rate limit, since
    the staff asked for it, not the student. With `refuse_duplicate`, a regrade of the
    same attempt with the same version still in flight is refused (a button clicked
    twice); the API leaves that to its callers.
    """
    original = Submission.objects.get(pk=original.pk)
    root_id = original.regrade_of_id or original.pk
    # The attempt locked, so two clicks on the button cannot both find nothing in flight.
    Submission.objects.select_for_update().filter(pk=root_id).first()
    exercise = Exercise.objects.select_related("current_version").get(pk=original.exercise_id)
    version = _regrade_version(exercise, version)
    if not original.is_final:
        raise NotRegradable("still_grading")
    if (
        refuse_duplicate
        and Submission.objects.filter(
            regrade_of_id=root_id, grader_version=version, status__in=_IN_FLIGHT
        ).exists()
    ):
        raise NotRegradable("regrading_attempt", {"number": version.number})
    return _regrade_create(original, version)


@transaction.atomic
def regrade_batch_create(
    *,
    cohort: Cohort,
    exercise: Exercise,
    version: GraderVersion,
    requested_by: User,
    request_token: uuid.UUID | None = None,
) -> RegradeBatch:
    """Regrade the cohort's latest attempts at an exercise with one grader version.

    Idempotent against a repeated request: the same form token, or the same regrade
    while one is still running, gives back that batch (RegradeInProgress) rather than
    grading everyone twice. Attempts still being graded are skipped and listed.
    """
    # Serialises concurrent requests for this cohort, so the checks below hold.
    Cohort.objects.select_for_update().get(pk=cohort.pk)
    version = _regrade_version(exercise, version)
    if request_token is not None:
        same = RegradeBatch.objects.filter(request_token=request_token).first()
        if same is not None:
            raise RegradeInProgress("already_requested", same)
    running = (
        RegradeBatch.objects.filter(
            cohort=cohort,
            exercise=exercise,
            grader_version=version,
            submissions__status__in=_IN_FLIGHT,
        )
        .order_by("-created_at")
        .first()
    )
    if running is not None:
        raise RegradeInProgress("regrade_running", running)
    attempts = latest_attempts(cohort, exercise)
    if not attempts:
        raise NotRegradable("nobody_submitted")
    batch = RegradeBatch.objects.create(
        cohort=cohort,
        exercise=exercise,
        grader_version=version,
        requested_by=requested_by,
        request_token=request_token,
        skipped=[s.pk for s in attempts if not s.is_final],
    )
    for original in attempts:
        if original.is_final:
            _regrade_create(original, version, batch)
    return batch
