"""Faults on the production path (issue 18): the broker down during a submit, a worker
restarted under the same name, the database dropping the worker's connections."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from django.db import connection

from taller.submissions.models import Submission
from tests.factories import PASSWORD, UserFactory

from .stack import Browser, Stack, wait_until
from .test_pipeline import SOLUTION, TESTS, course_synced, final

__all__ = ["course_synced"]


def test_a_submit_while_the_broker_is_down_is_kept_and_graded_once_it_is_back(
    stack: Stack, course_synced: None, redis_server: Any
) -> None:
    stack.start_web()
    UserFactory(username="ana")
    ana = Browser(stack.port)
    ana.sign_in("ana", PASSWORD)
    redis_server.stop()
    try:
        # The outbox: stored as queued, answered as any submission; no 500, no orphan.
        submitted = ana.submit("rest-api", SOLUTION)
        assert submitted["status"] == "queued" and submitted["attempt"] == 1
    finally:
        redis_server.start()
    stack.start_worker("w1")
    stack.start_beat(interval=1.0)  # the reaper finds it in no queue and sends it
    submission = final(submitted["id"], timeout=90)
    assert submission.status == "passed"
    assert (submission.takeovers, submission.retries) == (0, 0)
    assert Submission.objects.count() == 1 and submission.tests.count() == TESTS


def test_a_worker_restarted_under_the_same_name_has_its_lost_run_taken_over(
    stack: Stack, course_synced: None
) -> None:
    stack.start_worker("grading")
    stack.start_web()
    UserFactory(username="ana")
    ana = Browser(stack.port)
    ana.sign_in("ana", PASSWORD)
    submitted = ana.submit("rest-api", SOLUTION)
    wait_until(
        lambda: Submission.objects.get(pk=submitted["id"]).status == "running",
        30,
        "the run to start",
        interval=0.02,
    )
    stack.kill("grading")
    stack.start_worker("grading")  # the same name, a new process: it knows nothing
    stack.start_beat(interval=1.0)
    submission = final(submitted["id"], timeout=90)
    assert submission.status == "passed"
    assert submission.takeovers == 1
    assert submission.tests.count() == TESTS


def _terminate_workers_connections(database: dict[str, Any], stop: threading.Event) -> int:
    """Every 0.3 s, PostgreSQL drops every connection of the database but this one and
    the test's: the worker's, wherever the run is."""
    cut = 0
    with psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        user=database["USER"],
        password=database["PASSWORD"],
        dbname=database["NAME"],
        autocommit=True,
    ) as admin:
        while not stop.wait(0.3):
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND pid <> %s AND application_name LIKE 'celery%%'",
                (database["test_pid"],),
            ).fetchall()
            cut += len(rows)
    return cut


def test_a_worker_whose_database_connections_keep_dropping_still_grades_each_run_once(
    stack: Stack, course_synced: None
) -> None:
    stack.env["PGAPPNAME"] = "celery-worker"  # libpq names the worker's connections
    stack.start_worker("w1")
    del stack.env["PGAPPNAME"]
    stack.start_web()
    UserFactory(username="ana")
    ana = Browser(stack.port)
    ana.sign_in("ana", PASSWORD)
    database = {
        **connection.settings_dict,
        "test_pid": connection.connection.info.backend_pid,
    }
    stop = threading.Event()
    counted: list[int] = []
    cutter = threading.Thread(
        target=lambda: counted.append(_terminate_workers_connections(database, stop))
    )
    cutter.start()
    try:
        submitted = ana.submit("rest-api", SOLUTION)
        submission = final(submitted["id"], timeout=120)
    finally:
        stop.set()
        cutter.join(10)
    assert counted and counted[0] > 0  # the worker's connections were really cut
    assert submission.status == "passed", submission.results
    assert submission.takeovers == 0
    assert submission.tests.count() == TESTS
