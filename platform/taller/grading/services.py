"""The grading state machine: queued → running → one final outcome.

Every transition happens here, inside a transaction, on a row locked with
select_for_update, so a duplicate delivery of the same task, a requeue by the reaper
and a worker that comes back from the dead cannot grade one submission twice. Anything
that leaves the process (a queued task, a pushed event) happens on commit.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from taller import observability
from taller.courses.models import GraderVersion
from taller.grading import dispatch, push
from taller.grading.events import (
    CollectedEvent,
    FinishedEvent,
    PushedEvent,
    RequeuedEvent,
    StartedEvent,
    TestEvent,
)
from taller.grading.runner import grade_files, runner_config, spec_for
from taller.submissions.models import Submission, TestResult
from taller_grader.checks import CheckRow, check_solutions
from taller_grader.results import WORKER_LOST, Results, RunStatus
from taller_grader.results import TestResult as TestOutcome
from taller_grader.runner import Collected, Event, TestFinished

logger = logging.getLogger(__name__)

# Beyond its own time limit, how long a run may take (sandbox, services, suite start-up)
# before it is presumed dead.
RUN_GRACE_SECONDS = 60
# Runs graded inside the web process are named so; they are not Celery workers to ping.
INPROCESS_PREFIX = "inprocess@"
# A queued run whose message the broker has not held for this long is lost (the broker
# restarted, or was down when it was submitted): sent again.
LOST_AFTER_SECONDS = 10
# The database errors a dropped connection raises: worth reconnecting and trying again.
CONNECTION_ERRORS = (OperationalError, InterfaceError)
T = TypeVar("T")


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: retries spread over an outage instead of
    all falling inside its first second, and apart from each other."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2**attempt)  # noqa: S311 — not crypto


def with_reconnects(what: str, step: Callable[[], T], attempts: int = 6) -> T:
    """Run a step of the state machine; when the database dropped the connection, open a
    new one and try again, waiting a little longer each time (about 20 s in all).

    Each step is one transaction that either committed or did not, and is safe to repeat.
    Inside an outer transaction (never the case in a worker) a retry cannot help.
    """
    for attempt in range(attempts):
        try:
            return step()
        except CONNECTION_ERRORS:
            if attempt == attempts - 1 or connection.in_atomic_block:
                raise
            delay = backoff_seconds(attempt, base=0.5, cap=8.0)
            logger.warning("%s: the database connection failed; again in %.1f s", what, delay)
            connection.close()
            time.sleep(delay)
    raise AssertionError("unreachable")


class Start(Enum):
    STARTED = "started"  # this caller now owns the run
    BUSY = "busy"  # another worker is running it; try again later
    DONE = "done"  # nothing to do (finished, or unknown)


@dataclass(frozen=True)
class StartResult:
    outcome: Start
    retry_after: float = 0.0
    token: uuid.UUID | None = None  # the fencing token of a started run


def queue_for(submission: Submission) -> str:
    return submission.queue


def run_bound_seconds(submission: Submission) -> float:
    return submission.grader_version.run_spec.time_limit_seconds + RUN_GRACE_SECONDS


def submission_enqueue(submission: Submission, countdown: float = 0.0) -> None:
    """Queue the submission's grading once the current transaction commits."""
    submission_id, queue = submission.pk, queue_for(submission)
    transaction.on_commit(lambda: dispatch_or_keep(submission_id, queue, countdown))


def dispatch_or_keep(submission_id: int, queue: str, countdown: float = 0.0) -> None:
    """Send the run to the broker; when the broker is down, keep it (an outbox).

    The submission is committed as queued either way: the student keeps it, and the
    reaper sends it again once the broker answers and does not hold it
    (`requeue_stuck`). Failing here would answer the student a 500 for a submission
    already stored, and block their next one behind it.
    """
    try:
        _dispatch(submission_id, queue, countdown)
    except Exception:  # the broker unreachable: kombu's errors, OSError, …
        logger.warning(
            "submission %s: the broker did not take the run; kept queued, sent when it is back",
            submission_id,
            exc_info=True,
        )


def _dispatch(submission_id: int, queue: str, countdown: float = 0.0) -> None:
    dispatch.send(dispatch.GRADE_SUBMISSION, submission_id, queue=queue, countdown=countdown)


def grading_start(
    submission_id: int, worker: str = "", token: uuid.UUID | None = None
) -> StartResult:
    """Move a queued run to running; or take over a running one whose worker died.

    With `token`, a start that committed though its caller saw the connection fail is
    recognised when the caller tries again: the run is theirs.
    """
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update()
            .select_related("exercise", "grader_version")
            .filter(pk=submission_id)
            .first()
        )
        if submission is None or submission.is_final:
            return StartResult(Start.DONE)
        if token is not None and _held(submission, token):
            return StartResult(Start.STARTED, token=token)
        now = timezone.now()
        if submission.status == Submission.Status.RUNNING:
            assert submission.started_at is not None
            stale_at = submission.started_at + timedelta(seconds=run_bound_seconds(submission))
            if now < stale_at:
                return StartResult(Start.BUSY, (stale_at - now).total_seconds())
            if not _take_over_locked(submission):
                return StartResult(Start.DONE)
        token = token or uuid.uuid4()
        submission.status = Submission.Status.RUNNING
        submission.started_at = now
        submission.worker = worker[:200]
        submission.run_token = token
        submission.save(update_fields=["status", "started_at", "takeovers", "worker", "run_token"])
        # A run that starts again starts from nothing.
        submission.tests.all().delete()
        push.on_commit(submission_id, StartedEvent())
        # The run's fencing token names the run in every line logged while it lasts.
        observability.run_id.set(token.hex)
        logger.info("submission %s: grading started by %s", submission_id, worker or "?")
        return StartResult(Start.STARTED, token=token)


def _take_over_locked(submission: Submission) -> bool:
    """A run whose worker died: grade it again, once; after that give up, visibly."""
    if submission.takeovers >= 1:
        logger.error(
            "submission %s: worker %r died again; given up", submission.pk, submission.worker
        )
        _finish_locked(submission, Results.platform_failed(submission.exercise.slug, WORKER_LOST))
        return False
    logger.warning("submission %s: worker %r died; grading again", submission.pk, submission.worker)
    submission.takeovers += 1
    return True


def grading_record_events(submission_id: int, token: uuid.UUID, events: Sequence[Event]) -> None:
    """Save what the suite reported since the last call, and push it, in one transaction.

    The runner hands over everything that arrived while the previous call was writing:
    one write per batch keeps the recording from falling behind a fast suite.
    """
    with transaction.atomic():
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or not _held(submission, token):
            return
        pushed: list[PushedEvent] = []
        finished: dict[int, TestOutcome] = {}
        for event in events:
            if isinstance(event, Collected):
                submission.test_count = len(event.tests)
                submission.save(update_fields=["test_count"])
                pushed.append(CollectedEvent(tests=list(event.tests)))
            elif isinstance(event, TestFinished):
                finished[_position(event.test)] = event.test
                pushed.append(TestEvent(test=event.test))
        if finished:
            fields = list(_test_fields(next(iter(finished.values()))))
            TestResult.objects.bulk_create(
                [
                    TestResult(submission=submission, position=position, **_test_fields(test))
                    for position, test in finished.items()
                ],
                update_conflicts=True,
                unique_fields=["submission", "position"],
                update_fields=fields,
            )
        push.on_commit(submission_id, *pushed)


def _held(submission: Submission | None, token: uuid.UUID) -> bool:
    return (
        submission is not None
        and submission.status == Submission.Status.RUNNING
        and submission.run_token == token
    )


def grading_finish(submission_id: int, token: uuid.UUID, results: Results) -> Submission | None:
    """Record the verdict, or put the run back in the queue after an internal error."""
    with transaction.atomic():
        submission = (
            Submission.objects.select_for_update()
            .select_related("exercise", "grader_version")
            .filter(pk=submission_id)
            .first()
        )
        if submission is None or not _held(submission, token):
            logger.warning("submission %s: result of a run no longer held; dropped", submission_id)
            return None
        if (
            results.status is RunStatus.INTERNAL_ERROR
            and submission.retries < settings.TALLER_INTERNAL_ERROR_RETRIES
        ):
            logger.warning(
                "submission %s: internal error, retrying: %s", submission_id, results.output
            )
            submission.retries += 1
            # Later each time: a retry at once falls inside the same outage.
            _requeue_locked(submission, "retries", countdown=retry_delay(submission.retries - 1))
            return submission
        _finish_locked(submission, results)
        return submission


def retry_delay(attempt: int) -> float:
    """Seconds before an internal error's retry number `attempt` (0 for the first)."""
    return backoff_seconds(
        attempt, base=settings.TALLER_RETRY_BACKOFF_SECONDS, cap=settings.TALLER_RETRY_BACKOFF_MAX
    )


def _finish_locked(submission: Submission, results: Results) -> None:
    submission.status = results.status.value
    submission.score = results.score
    submission.max_score = results.max_score
    submission.results = results.to_dict()
    submission.test_count = len(results.tests)
    submission.finished_at = timezone.now()
    submission.save(
        update_fields=["status", "score", "max_score", "results", "test_count", "finished_at"]
    )
    # The final document is authoritative: tests never reported (a timeout, a crash)
    # are stored as it gives them.
    submission.tests.all().delete()
    TestResult.objects.bulk_create(
        TestResult(submission=submission, position=_position(t), **_test_fields(t))
        for t in results.tests
    )
    push.on_commit(submission.pk, FinishedEvent(results=results))
    logger.info(
        "submission %s: %s, %s/%s",
        submission.pk,
        submission.status,
        submission.score,
        submission.max_score,
    )


def _position(test: TestOutcome) -> int:
    try:
        return int(test.number)
    except ValueError:
        # The same in every process (hash() of a str is salted per process): a test keeps
        # its row and its place in the list, live and in the verdict, whichever worker
        # wrote them.
        return zlib.crc32(test.number.encode()) % 30000


def _test_fields(test: TestOutcome) -> dict[str, object]:
    return {
        "number": test.number,
        "name": test.name[:300],
        "score": test.score,
        "max_score": test.max_score,
        "status": test.status.value,
        "output": test.output,
        "visibility": test.visibility.value,
        "detail": detail_of(test),
    }


def detail_of(test: TestOutcome) -> dict[str, object]:
    """What a test's row keeps beyond its columns (selectors._row puts it back)."""
    data = test.to_dict()
    return {key: data[key] for key in DETAIL_KEYS if key in data}


DETAIL_KEYS = ("name_en", "check", "exchanges", "stdout", "stderr")


def run_grading(submission_id: int, worker: str = "") -> StartResult:
    """Grade one submission from start to verdict. Safe to call more than once."""
    with observability.log_context(submission_id=submission_id):
        return _run_grading(submission_id, worker)


def _run_grading(submission_id: int, worker: str) -> StartResult:
    # Made here, so a start that committed before the connection dropped is ours on retry.
    token = uuid.uuid4()
    start = with_reconnects(
        f"submission {submission_id}: start",
        lambda: grading_start(submission_id, worker, token),
    )
    if start.outcome is not Start.STARTED:
        return start
    submission = with_reconnects(
        f"submission {submission_id}: load",
        lambda: Submission.objects.select_related("exercise", "grader_version__exercise").get(
            pk=submission_id
        ),
    )
    slug = submission.exercise.slug

    def on_events(events: Sequence[Event]) -> None:
        try:
            with_reconnects(
                f"submission {submission_id}: results",
                lambda: grading_record_events(submission_id, token, events),
                attempts=3,
            )
        except DatabaseError:
            # The run goes on: the verdict's document carries every test again.
            logger.exception("submission %s: test results not saved live", submission_id)

    recorded: list[bool] = []

    def on_verdict(results: Results) -> None:
        # Recorded and pushed before the sandbox is torn down, not after.
        with_reconnects(
            f"submission {submission_id}: verdict",
            lambda: grading_finish(submission_id, token, results),
        )
        recorded.append(True)

    try:
        spec = spec_for(submission.grader_version)
        results = grade_files(spec, submission.files, on_events, on_verdict)
    except Exception:  # the platform's fault: recorded, retried, never lost
        logger.exception("submission %s: grading failed", submission_id)
        results = Results.platform_failed(slug)
    # The verdict is in memory only: kept trying through a dropped connection, so the
    # run never stays "running" because of a blip (the task retries beyond that).
    if not recorded:
        with_reconnects(
            f"submission {submission_id}: verdict",
            lambda: grading_finish(submission_id, token, results),
        )
    return start


def requeue_stuck(
    alive_workers: Collection[str] | None = None,
    *,
    running: Mapping[str, Collection[int]] | None = None,
    in_broker: Collection[int] | None = None,
    observed_at: datetime | None = None,
) -> list[int]:
    """Put back runs lost in the queue (a broker restarted, or was down at submit time)
    or held by a dead worker; oldest first.

    - `in_broker`: the ids whose messages the broker holds (queued, or delivered and not
      yet acknowledged). A queued run the broker does not hold, queued more than
      LOST_AFTER_SECONDS ago, is lost and sent again. Unknown (None): only runs queued
      longer than TALLER_STUCK_AFTER_SECONDS are.
    - `running`: per Celery worker that answered just now, the ids it is running. A run
      held by a worker that did not answer, or by one that answered without it (the
      worker restarted under the same name), is taken over at once. `alive_workers`
      alone (names) tells the first case only. Neither: only time bounds apply.
    - `observed_at`: when the broker and the workers were asked (before this reads the
      runs). Only a run queued or started well before it can be missing from what they
      said; one that came after is not judged by it.
    """
    if running is not None:
        alive_workers = set(running)
    now = timezone.now()
    observed_at = observed_at or now
    # Well before the observation: the workers' clocks (started_at) may be a little off.
    observed_before = observed_at - timedelta(seconds=2)
    bound = timedelta(seconds=settings.TALLER_STUCK_AFTER_SECONDS)
    lost_after = timedelta(seconds=LOST_AFTER_SECONDS)
    held = set(in_broker) if in_broker is not None else None
    requeued: list[int] = []
    candidates = (
        Submission.objects.filter(status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING])
        .select_related("grader_version")
        .order_by("queued_at", "submitted_at", "pk")
    )
    for submission in candidates:
        if submission.status == Submission.Status.QUEUED:
            queued_at = submission.queued_at or submission.submitted_at
            lost = now - queued_at > bound or (
                held is not None
                and observed_at - queued_at > lost_after
                and submission.pk not in held
            )
            # The state machine makes a duplicate message harmless; moving queued_at
            # keeps the reaper from sending it again on every pass. Only if still
            # queued as read: a run started meanwhile is not sent again.
            if lost and Submission.objects.filter(
                pk=submission.pk,
                status=Submission.Status.QUEUED,
                queued_at=submission.queued_at,
            ).update(queued_at=now):
                dispatch_or_keep(submission.pk, queue_for(submission))
                requeued.append(submission.pk)
            continue
        worker = submission.worker
        celery_run = bool(worker) and not worker.startswith(INPROCESS_PREFIX)
        dead = celery_run and alive_workers is not None and worker not in alive_workers
        assert submission.started_at is not None
        # Started before the worker was asked: it was in the worker's list then, unless
        # the worker lost it; if it has ended since, _requeue_running finds it not held.
        forgotten = (
            celery_run
            and running is not None
            and worker in running
            and submission.pk not in running[worker]
            and submission.started_at < observed_before
        )
        stale = now - submission.started_at > timedelta(seconds=run_bound_seconds(submission))
        if (dead or forgotten or stale) and _requeue_running(submission.pk, submission.run_token):
            requeued.append(submission.pk)
    return requeued


def _requeue_running(submission_id: int, token: uuid.UUID | None = None) -> bool:
    with transaction.atomic():
        runs = Submission.objects.select_for_update().select_related("exercise", "grader_version")
        submission = runs.filter(pk=submission_id, status=Submission.Status.RUNNING).first()
        if submission is None or (token is not None and submission.run_token != token):
            return False  # it ended, or another run of it started, since it was read
        if not _take_over_locked(submission):
            return False
        _requeue_locked(submission, "takeovers")
        return True


def _requeue_locked(submission: Submission, *changed: str, countdown: float = 0) -> None:
    """Back in the queue, held by no run, its partial results gone (the page starts
    over), sent again once the transaction commits. `changed`: the other fields the
    caller set, saved with these."""
    submission.status = Submission.Status.QUEUED
    submission.run_token = None
    submission.started_at = None
    submission.queued_at = timezone.now()
    submission.save(update_fields=["status", "run_token", "started_at", "queued_at", *changed])
    submission.tests.all().delete()
    push.on_commit(submission.pk, RequeuedEvent())
    submission_enqueue(submission, countdown=countdown)


def grader_version_validate(version_id: int) -> GraderVersion | None:
    """Run a draft version's solutions through its own grader (as check_graders does).

    Valid when the reference and every alternative get full marks and every wrong
    solution loses points; the table is kept on the version for the instructor to read.
    """
    with transaction.atomic():
        version = GraderVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None or version.state != GraderVersion.State.DRAFT:
            return None
        version.state = GraderVersion.State.VALIDATING
        started = timezone.now().isoformat()
        version.validation = {"rows": [], "started_at": started}
        version.save(update_fields=["state", "validation"])
    rows: list[dict[str, object]] = []
    planned = {"total": 0}

    def plan(total: int) -> None:
        planned["total"] = total
        GraderVersion.objects.filter(pk=version_id).update(
            validation={"rows": rows, "started_at": started, "total": total}
        )

    def record(row: CheckRow) -> None:
        # Saved row by row, so the instructor's page shows progress ("k of N").
        rows.append(asdict(row))
        GraderVersion.objects.filter(pk=version_id).update(
            validation={"rows": rows, "started_at": started, "total": planned["total"]}
        )

    try:
        check_solutions(
            spec_for(version),
            runner_config(),
            solution=version.solution_files,
            alternatives=version.alternative_files,
            wrong=version.wrong_files,
            starter=version.starter_files,
            on_row=record,
            on_plan=plan,
        )
        ok = bool(rows) and all(r["ok"] for r in rows)
        failure = ""
    except Exception as exc:  # the platform failed: the version is not valid, and says why
        logger.exception("grader version %s: validation failed", version_id)
        ok, failure = False, f"{exc.__class__.__name__}: {exc}"
    with transaction.atomic():
        version = GraderVersion.objects.select_for_update().get(pk=version_id)
        version.state = GraderVersion.State.VALID if ok else GraderVersion.State.INVALID
        version.validation = {
            "rows": rows,
            "started_at": started,
            "finished_at": timezone.now().isoformat(),
            "total": planned["total"],
            "error": failure,
        }
        version.save(update_fields=["state", "validation"])
    return version


def grader_version_enqueue_validation(version: GraderVersion) -> None:
    version_id = version.pk
    transaction.on_commit(
        lambda: dispatch.send(dispatch.VALIDATE_GRADER_VERSION, version_id, queue="heavy")
    )


def sweep_leftovers() -> list[str]:
    """Remove what crashed workers left: run directories, cgroups, netns, containers,
    per-run databases, vhosts and servers. Only what belongs to dead workers is touched."""
    from taller_grader import sandbox

    removed: list[str] = []
    try:
        removed += sandbox.sweep()
    except Exception:
        logger.exception("sweeping sandboxes failed")
    if settings.TALLER_SANDBOX_BACKEND == "docker":
        try:
            from taller_grader.sandbox import docker as docker_backend

            removed += docker_backend.sweep(docker_url=settings.TALLER_DOCKER_URL or None)
        except Exception:
            logger.exception("sweeping containers failed")
    for name, service in runner_config().services.services.items():
        try:
            removed += service.sweep()
        except Exception:
            logger.exception("sweeping per-run %s failed", name)
    if removed:
        logger.warning("swept %d leftovers of crashed runs", len(removed))
    return removed
