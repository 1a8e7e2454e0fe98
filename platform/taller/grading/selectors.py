"""Reads for grading: who may watch a run, and what they see of it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connection

from taller.accounts.models import User
from taller.accounts.roles import can_see_hidden_tests, can_view_submission
from taller.courses.content import load_exercise
from taller.courses.models import Exercise, GraderVersion
from taller.submissions import sql
from taller.submissions.models import Submission
from taller_grader.results import Results
from taller_grader.results import TestResult as TestOutcome
from taller_grader.runner import ExerciseSpec, spec_from_run


@dataclass(frozen=True)
class Viewer:
    """A person watching a submission; staff see hidden tests, students never do."""

    user_id: int
    sees_hidden: bool

    def test(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.sees_hidden:
            return data
        test = TestOutcome.from_dict({**data, "score": data.get("score", 0)})
        return test.for_student(int(test.number) if test.number.isdigit() else 0).to_dict()

    def results(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.sees_hidden:
            return data
        return Results.from_dict(data).for_student().to_dict()

    def filter_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        kind = payload.get("type")
        if kind == "collected":
            return {**payload, "tests": [self.test(t) for t in payload["tests"]]}
        if kind == "test":
            return {**payload, "test": self.test(payload["test"])}
        if kind == "finished":
            return {**payload, "results": self.results(payload["results"])}
        return payload


def viewer_for(user: User | AnonymousUser | None, submission_id: int) -> Viewer | None:
    """The viewer, or None when this user may not watch this submission."""
    if user is None or not user.is_authenticated:
        return None
    submission = Submission.objects.filter(pk=submission_id).first()
    return None if submission is None else viewer_of(user, submission)


def viewer_of(user: User | AnonymousUser, submission: Submission) -> Viewer | None:
    """As viewer_for, for a submission already loaded."""
    if user.pk is None or not can_view_submission(user, submission):
        return None
    return Viewer(user_id=user.pk, sees_hidden=can_see_hidden_tests(user, submission))


def queue_position(submission: Submission) -> int | None:
    """1 for the next run to be picked up; None when it is not waiting.

    Written out in SQL because every exercise page and status poll of a waiting run asks:
    Django took 0.61 ms to build and run the count, 0.19 ms written out (measured in
    process on PostgreSQL)."""
    if submission.status != Submission.Status.QUEUED or submission.queued_at is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            _queued_ahead_sql(),
            [
                Submission.Status.QUEUED.value,
                submission.queue,
                # As the ORM would pass it: SQLite (the embedded default) compares text.
                connection.ops.adapt_datetimefield_value(submission.queued_at),
            ],
        )
        (ahead,) = cursor.fetchone()
    return int(ahead) + 1


@cache
def _queued_ahead_sql() -> str:
    # Only the model's own table and column names go in; the values are parameters.
    return f"""SELECT COUNT(*) FROM {sql.table()}
        WHERE {sql.column("status")} = %s AND {sql.column("queue")} = %s
        AND {sql.column("queued_at")} < %s"""  # noqa: S608


def submission_snapshot(submission_id: int, viewer: Viewer) -> dict[str, Any]:
    """Everything known about a run right now, as this viewer may see it."""
    return snapshot_of(Submission.objects.get(pk=submission_id), viewer)


def snapshot_of(submission: Submission, viewer: Viewer) -> dict[str, Any]:
    """As submission_snapshot, for a submission just loaded."""
    snapshot: dict[str, Any] = {
        "id": submission.pk,
        "status": submission.status,
        "attempt": submission.attempt,
        "queue_position": queue_position(submission),
        "test_count": submission.test_count,
        "score": submission.score,
        "max_score": submission.max_score,
        # A waiting run has no tests: grading/services.py deletes them whenever it queues one.
        "tests": []
        if submission.status == Submission.Status.QUEUED
        else [viewer.test(_row(t)) for t in submission.tests.order_by("position")],
        "results": viewer.results(submission.results) if submission.results else None,
    }
    return snapshot


def _row(test: Any) -> dict[str, Any]:
    return {
        **(test.detail or {}),
        "number": test.number,
        "name": test.name,
        "score": test.score,
        "max_score": test.max_score,
        "status": test.status,
        "output": test.output,
        "visibility": test.visibility,
    }


def published_version(slug: str) -> GraderVersion | None:
    """The version the site grades `slug` with; None when there is none, or no database."""
    try:
        exercise = Exercise.objects.select_related("current_version").filter(slug=slug).first()
    except DatabaseError:
        return None
    return exercise.current_version if exercise is not None else None


def exercise_spec(slug: str, *, show_hidden: bool = False) -> tuple[ExerciseSpec, str]:
    """The runner's spec for an exercise and its entry file name.

    The version the site grades with (the database) when there is one; otherwise the
    content on disk, so instructors can grade before anything is synced or migrated.
    """
    version = published_version(slug)
    if version is not None:
        spec = spec_from_run(slug, version.run_spec, version.suite_files)
        return replace(spec, show_hidden=show_hidden), version.entry_files[0]
    folder = settings.TALLER_EXERCISES_DIR / slug
    if not slug or "/" in slug or not (folder / "manifest.toml").is_file():
        raise LookupError(f"unknown exercise {slug!r}")
    content = load_exercise(folder, settings.TALLER_GRADERS_DIR)
    spec = spec_from_run(slug, content.manifest.run, content.suite)
    return replace(spec, show_hidden=show_hidden), content.manifest.run.entry[0]


@dataclass(frozen=True)
class PlatformStatus:
    queues: dict[str, dict[str, int]]  # queue → {"queued": n, "running": n}
    finished_last_minute: int
    finished_last_10_minutes: int
    stuck: list[Submission]
    internal_errors: list[Submission]


def platform_status(stuck_after_seconds: int) -> PlatformStatus:
    """What an admin needs to see at a glance: queues, throughput, what is wrong."""
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    now = timezone.now()
    queues: dict[str, dict[str, int]] = {}
    for row in (
        Submission.objects.filter(status__in=["queued", "running"])
        .values("queue", "status")
        .annotate(n=Count("id"))
    ):
        queues.setdefault(row["queue"], {"queued": 0, "running": 0})[row["status"]] = row["n"]
    finished = Submission.objects.filter(finished_at__isnull=False)
    bound = now - timedelta(seconds=stuck_after_seconds)
    stuck = list(
        Submission.objects.filter(status="queued", queued_at__lt=bound).select_related(
            "exercise", "student"
        )[:50]
    ) + list(
        Submission.objects.filter(status="running", started_at__lt=bound).select_related(
            "exercise", "student"
        )[:50]
    )
    return PlatformStatus(
        queues=queues,
        finished_last_minute=finished.filter(finished_at__gte=now - timedelta(minutes=1)).count(),
        finished_last_10_minutes=finished.filter(
            finished_at__gte=now - timedelta(minutes=10)
        ).count(),
        stuck=stuck,
        internal_errors=list(
            Submission.objects.filter(status="internal-error")
            .select_related("exercise", "student")
            .order_by("-finished_at")[:20]
        ),
    )


def workers_alive(timeout: float = 1.0) -> list[str] | None:
    """Celery workers answering a ping now; None when grading runs inside the server."""
    from django.conf import settings

    if settings.TALLER_GRADING != "celery":
        return None
    from taller.celery import app

    try:
        replies = app.control.ping(timeout=timeout)
    except Exception:  # the broker is down: show it as no one answering
        return []
    return sorted(name for reply in replies or [] for name in reply)
