"""Celery tasks: load by id, call a service. Idempotent through the state machine."""

from __future__ import annotations

from celery import shared_task

from taller.grading import services


@shared_task(
    bind=True,
    name="taller.grade_submission",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def grade_submission(self, submission_id: int) -> str:  # type: ignore[no-untyped-def]
    start = services.run_grading(submission_id)
    if start.outcome is services.Start.BUSY:
        # Another worker holds the run; come back when it would be presumed dead.
        raise self.retry(countdown=max(5.0, start.retry_after))
    return start.outcome.value


@shared_task(name="taller.requeue_stuck")
def requeue_stuck() -> list[int]:
    return services.requeue_stuck()
