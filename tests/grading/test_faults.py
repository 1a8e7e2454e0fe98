"""Faults around a run (issue 18): PostgreSQL drops the worker's connection at each step
of the state machine; internal errors back off; the reaper sends lost runs oldest first
and tells a worker restarted under the same name apart. Real PostgreSQL: the connection
is cut by the server (pg_terminate_backend), never faked. The runs are scripted
(fake_runner.py), and graded for real by the end_to_end ones."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from taller.courses.models import Exercise
from taller.grading import services
from taller.submissions.models import Submission
from tests.factories import UserFactory

from .conftest import END_TO_END, end_to_end
from .fake_runner import FakeRunner, recorded

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="cuts PostgreSQL connections"
)

# The statements of each step of a run, as the state machine writes them.
STEPS = {
    "start": re.compile(r'^UPDATE "submissions_submission" SET "status" = .*"run_token"', re.S),
    "results": re.compile(r'^INSERT INTO "submissions_testresult"', re.S),
    "finish": re.compile(r'^UPDATE "submissions_submission" SET "status" = .*"finished_at"', re.S),
}


def _terminate(pid: int) -> None:
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@contextmanager
def cut_connection_at(steps: set[str], times: int = 1) -> Iterator[list[str]]:
    """Before a statement of one of `steps` runs, PostgreSQL terminates the connection
    about to run it (up to `times` times per step): the statement meets a real dropped
    connection. Yields the steps cut, in order."""
    cut: list[str] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        for step in steps:
            if STEPS[step].search(sql) and cut.count(step) < times:
                cut.append(step)
                _terminate(connection.connection.info.backend_pid)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield cut


def submit(files: dict[str, str]) -> Submission:
    from taller.submissions.services import submission_create

    exercise = Exercise.objects.get(slug="rest-api")
    return submission_create(student=UserFactory(), exercise=exercise, files=files)


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("steps", "times", "runner"),
    [
        ({"start"}, 1, "scripted"),
        ({"results"}, 1, "scripted"),
        ({"results"}, 3, "scripted"),
        ({"finish"}, 1, "scripted"),
        (set(STEPS), 2, "scripted"),
        pytest.param(set(STEPS), 2, "real", marks=END_TO_END),
    ],
    ids=["start", "first-results", "three-results", "finish", "every-step-twice", "real"],
    indirect=["runner"],
)
def test_a_dropped_connection_at_any_step_still_ends_final_graded_once(
    course, solution, settings, steps: set[str], times: int, runner: FakeRunner | None
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # graded here, below, not on submit
    submission = submit(solution())
    with cut_connection_at(steps, times) as cut:
        services.run_grading(submission.pk, worker="grading@test")
    assert set(cut) == steps  # every step asked for was really cut
    submission.refresh_from_db()
    assert submission.status == "passed", submission.results
    assert (submission.takeovers, submission.retries) == (0, 0)  # graded once
    assert submission.tests.count() == submission.test_count > 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_except_reads_nothing_lazily(
    course, solution, settings, fake_runner: FakeRunner
) -> None:
    """A run whose grading fails and whose connection is gone still gets its verdict."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.TALLER_INTERNAL_ERROR_RETRIES = 0
    fake_runner.plays(recorded("rest-api-broken-suite"))  # the suite is not Python
    submission = submit(solution())
    with cut_connection_at({"finish"}):
        services.run_grading(submission.pk, worker="grading@test")
    submission.refresh_from_db()
    assert submission.status == "internal-error" and submission.finished_at is not None


def test_retries_back_off_exponentially_with_jitter(settings) -> None:
    settings.TALLER_RETRY_BACKOFF_SECONDS = 8.0
    settings.TALLER_RETRY_BACKOFF_MAX = 120.0
    for attempt, ceiling in [(0, 8), (1, 16), (2, 32), (5, 120), (20, 120)]:
        delays = [services.retry_delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered: retries of many runs spread apart


@pytest.mark.django_db
def test_the_reaper_sends_lost_runs_oldest_first_within_seconds(course, solution, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.TALLER_MAX_IN_FLIGHT = 10
    settings.TALLER_SUBMISSIONS_PER_MINUTE = 100
    now = timezone.now()
    runs = [submit(solution()) for _ in range(3)]
    # Queued 30, 20 and 15 s ago, newest created first: order is by age, not by id.
    for run, age in zip(runs, [15, 30, 20], strict=True):
        Submission.objects.filter(pk=run.pk).update(queued_at=now - timedelta(seconds=age))
    young = submit(solution())
    # The broker holds the third one's message; the young one is too young to judge.
    requeued = services.requeue_stuck(in_broker={runs[2].pk}, observed_at=now)
    assert requeued == [runs[1].pk, runs[0].pk]
    assert young.pk not in requeued
    # Sent: not sent again on the next pass, before the broker could have been asked.
    assert services.requeue_stuck(in_broker={runs[2].pk}, observed_at=now) == []


@pytest.mark.django_db
def test_a_worker_restarted_under_the_same_name_is_told_apart(course, solution, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.TALLER_MAX_IN_FLIGHT = 10
    now = timezone.now()
    lost, live, fresh = (submit(solution()) for _ in range(3))
    for run, started in [(lost, now - timedelta(seconds=5)), (live, now - timedelta(seconds=5))]:
        Submission.objects.filter(pk=run.pk).update(
            status="running", started_at=started, worker="grading@host-a"
        )
    # Started after the workers were asked: not judged by their answer.
    Submission.objects.filter(pk=fresh.pk).update(
        status="running", started_at=now + timedelta(seconds=1), worker="grading@host-a"
    )
    requeued = services.requeue_stuck(
        running={"grading@host-a": {live.pk}},
        in_broker={lost.pk, live.pk, fresh.pk},
        observed_at=now,
    )
    assert requeued == [lost.pk]
    lost.refresh_from_db()
    assert (lost.status, lost.takeovers) == ("queued", 1)
    assert Submission.objects.get(pk=live.pk).status == "running"
    assert Submission.objects.get(pk=fresh.pk).status == "running"


FORK_LOOP = """
const { spawn } = require("child_process");
function again() {
  try {
    spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })
      .on("error", () => {});
  } catch {}
}
setInterval(again, 5);
"""


@end_to_end
def test_a_fork_loop_that_never_listens_is_told_it_reached_the_process_limit() -> None:
    from pathlib import Path

    from taller_grader.runner import ExerciseSpec, ProgramSpec, RunnerConfig, grade
    from taller_grader.sandbox.api import Limits

    spec = ExerciseSpec(
        slug="fork-loop",
        programs=(ProgramSpec(name="main", command=("node", "server.js")),),
        suite_files={"test_up.py": "def test_up(program):\n    assert True\n"},
        limits=Limits(pids=40, memory_mb=384, wall_seconds=20),
        startup_seconds=4,
        time_limit_seconds=20,
    )
    repo = Path(__file__).resolve().parents[2]
    results = grade(
        spec, {"server.js": FORK_LOOP.encode()}, RunnerConfig(runtime_dir=repo / "runtime")
    )
    assert "límite de procesos de la ejecución (40" in results.output, results.output
    assert "listen()" not in results.output
