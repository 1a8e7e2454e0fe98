"""Celery tasks: load by id, call a service. Idempotent through the state machine."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from taller.grading import dispatch, services

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name=dispatch.GRADE_SUBMISSION,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def grade_submission(self, submission_id: int) -> str:  # type: ignore[no-untyped-def]
    try:
        start = services.run_grading(submission_id, worker=self.request.hostname or "")
    except DatabaseError as exc:
        # The database stayed out of reach through every reconnection: the message comes
        # back later, with a growing delay, rather than being acknowledged and lost.
        delay = services.backoff_seconds(self.request.retries, base=5.0, cap=120.0)
        logger.warning("submission %s: database unavailable; again in %.0f s", submission_id, delay)
        raise self.retry(exc=exc, countdown=delay) from exc
    if start.outcome is services.Start.BUSY:
        # Another worker holds the run; come back when it would be presumed dead.
        raise self.retry(countdown=max(5.0, start.retry_after))
    return start.outcome.value


def _message_submission_id(raw: bytes | str) -> int | None:
    """The submission id a grading message carries (kombu's Redis message format)."""
    try:
        message = json.loads(raw)
        if isinstance(message, list):  # the unacked hash keeps [message, exchange, key]
            message = message[0]
        if message.get("headers", {}).get("task") != dispatch.GRADE_SUBMISSION:
            return None
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return int(args[0])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def ids_in_broker(app: Any, queues: list[str]) -> set[int] | None:
    """The submissions whose grading messages the broker holds: waiting in a queue, or
    delivered to a worker and not yet acknowledged (running, prefetched, or waiting for a
    retry's countdown). None when the broker is not Redis or cannot be read."""
    try:
        with app.connection_for_read() as conn:
            if conn.transport.driver_type != "redis":
                return None
            channel = conn.default_channel
            client = channel.client
            raws: list[Any] = []
            for queue in queues:
                for priority in channel.priority_steps:
                    raws += client.lrange(channel._q_for_pri(queue, priority), 0, -1)
            raws += client.hvals(channel.unacked_key)
    except Exception:
        logger.warning("reaper: could not read the broker's queues", exc_info=True)
        return None
    return {i for i in map(_message_submission_id, raws) if i is not None}


def runs_per_worker(app: Any) -> dict[str, set[int]] | None:
    """Per Celery worker that answers now, the submissions it is grading; None when no
    worker answers (no answer is no evidence that anyone died)."""
    try:
        replies = app.control.inspect(timeout=1.0).active() or {}
    except Exception:
        return None
    running: dict[str, set[int]] = {}
    for worker, tasks in replies.items():
        ids = running.setdefault(worker, set())
        for task in tasks or []:
            if task.get("name") == dispatch.GRADE_SUBMISSION and task.get("args"):
                try:
                    ids.add(int(task["args"][0]))
                except (TypeError, ValueError):
                    continue
    return running or None


@shared_task(bind=True, name="taller.requeue_stuck")
def requeue_stuck(self) -> list[int]:  # type: ignore[no-untyped-def]
    # Asked before the runs are read: only runs older than this moment are judged by
    # what the broker and the workers say.
    observed_at = timezone.now()
    in_broker = ids_in_broker(self.app, ["grading", "heavy"])
    running = runs_per_worker(self.app)
    return services.requeue_stuck(running=running, in_broker=in_broker, observed_at=observed_at)


@shared_task(name=dispatch.VALIDATE_GRADER_VERSION, acks_late=True)
def validate_grader_version(version_id: int) -> str | None:
    version = services.grader_version_validate(version_id)
    return version.state if version else None
