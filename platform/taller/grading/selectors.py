"""Reads for grading: who may watch a run, and what they see of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from taller_grader.results import Results
from taller_grader.results import TestResult as TestOutcome

from taller.accounts.models import User
from taller.accounts.roles import can_see_hidden_tests, can_view_submission
from taller.submissions.models import Submission


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
    submission = Submission.objects.select_related("cohort").filter(pk=submission_id).first()
    if submission is None or not can_view_submission(user, submission):
        return None
    return Viewer(user_id=user.pk, sees_hidden=can_see_hidden_tests(user, submission))


def queue_position(submission: Submission) -> int | None:
    """1 for the next run to be picked up; None when it is not waiting."""
    if submission.status != Submission.Status.QUEUED or submission.queued_at is None:
        return None
    ahead = Submission.objects.filter(
        status=Submission.Status.QUEUED,
        queue=submission.queue,
        queued_at__lt=submission.queued_at,
    ).count()
    return ahead + 1


def submission_snapshot(submission_id: int, viewer: Viewer) -> dict[str, Any]:
    """Everything known about a run right now, as this viewer may see it."""
    submission = Submission.objects.get(pk=submission_id)
    snapshot: dict[str, Any] = {
        "id": submission.pk,
        "status": submission.status,
        "attempt": submission.attempt,
        "queue_position": queue_position(submission),
        "tests": [viewer.test(_row(t)) for t in submission.tests.order_by("position")],
        "results": viewer.results(submission.results) if submission.results else None,
    }
    return snapshot


def _row(test: Any) -> dict[str, Any]:
    return {
        "number": test.number,
        "name": test.name,
        "score": test.score,
        "max_score": test.max_score,
        "status": test.status,
        "output": test.output,
        "visibility": test.visibility,
    }
