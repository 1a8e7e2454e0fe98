"""Celery tasks: load by id, call a service. Idempotent through the state machine."""

from __future__ import annotations

from celery import shared_task

from taller.grading import dispatch, services


@shared_task(
    bind=True,
    name=dispatch.GRADE_SUBMISSION,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def grade_submission(self, submission_id: int) -> str:  # type: ignore[no-untyped-def]
    start = services.run_grading(submission_id, worker=self.request.hostname or "")
    if start.outcome is services.Start.BUSY:
        # Another worker holds the run; come back when it would be presumed dead.
        raise self.retry(countdown=max(5.0, start.retry_after))
    return start.outcome.value


@shared_task(bind=True, name="taller.requeue_stuck")
def requeue_stuck(self) -> list[int]:  # type: ignore[no-untyped-def]
    try:
        replies = self.app.control.ping(timeout=1.0)
    except Exception:  # no answer is no evidence that anyone died
        replies = []
    alive = {name for reply in replies for name in reply}
    # An empty answer cannot be right (this very worker is alive): trust only time bounds.
    return services.requeue_stuck(alive or None)


@shared_task(name=dispatch.VALIDATE_GRADER_VERSION, acks_late=True)
def validate_grader_version(version_id: int) -> str | None:
    version = services.grader_version_validate(version_id)
    return version.state if version else None
