"""The production topology as processes: one web process and two workers (separate
hosts in production) against one PostgreSQL and one Redis, sharing the queue."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from taller.submissions.models import Submission
from tests.factories import PASSWORD, UserFactory

from .stack import Browser, Stack, wait_until

REPO = Path(__file__).resolve().parents[2]
EXERCISE = REPO / "exercises/rest-api"
RIGHT = {"server.js": (EXERCISE / "solution/server.js").read_text()}
WRONG = {"server.js": (EXERCISE / "wrong/sin-404-json/server.js").read_text()}
STUDENTS = 8


@pytest.fixture
def exits() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def course_synced(transactional_db: None) -> None:
    call_command("sync_exercises", verbosity=0)


def json_lines(log: Path) -> list[dict[str, Any]]:
    records = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a library printing to stdout, not a log record
        if isinstance(record, dict):
            records.append(record)
    return records


def test_two_workers_share_the_queue_and_grade_each_submission_exactly_once(
    stack: Stack, course_synced: None, exits: ExitStack
) -> None:
    stack.start_web(extra_env={"DATABASE_POOL_MAX_SIZE": "4"})  # as docker-compose.yml runs it
    expected: dict[int, str] = {}
    request_ids: dict[int, str] = {}
    watched: Any = None
    for n in range(STUDENTS):
        UserFactory(username=f"estudiante{n}")
        browser = Browser(stack.port)
        browser.sign_in(f"estudiante{n}", PASSWORD)
        wrong = n % 4 == 3
        submitted = browser.submit("rest-api", WRONG if wrong else RIGHT, request_id=f"lb-{n}")
        expected[submitted["id"]] = "failed" if wrong else "passed"
        request_ids[submitted["id"]] = f"lb-{n}"
        if watched is None:
            # The first student watches the run live while nothing happens for a while
            # (the others submit, the workers start): an idle WebSocket must stay open.
            watched = exits.enter_context(browser.websocket(submitted["ws_path"]))
            assert json.loads(watched.recv(timeout=10))["status"] == "queued"
            watched_id, watched_since = submitted["id"], time.monotonic()

    # Both workers come up only now, so that the whole batch is there to share.
    stack.start_worker("w1", host="host-a")
    stack.start_worker("w2", host="host-b")

    graded = wait_until(
        lambda: (
            len(done := [s for s in Submission.objects.filter(pk__in=expected) if s.is_final])
            == STUDENTS
            and done
        ),
        90,
        "every submission to be graded",
        interval=0.2,
    )

    assert {s.pk: s.status for s in graded} == expected
    assert all(s.score == 29 for s in graded if s.status == "passed")
    assert all(s.score < 29 for s in graded if s.status == "failed")
    assert all(s.takeovers == 0 and s.retries == 0 for s in graded)
    workers = {s.worker for s in graded}
    assert {w.split("@")[1] for w in workers} == {"host-a", "host-b"}, "one worker did nothing"

    # The workers' own logs: one start per submission, across both hosts, each line
    # carrying the submission, its run and the id of the request that submitted it.
    records = json_lines(stack.logs / "w1.log") + json_lines(stack.logs / "w2.log")
    starts = [r for r in records if "grading started" in r.get("message", "")]
    assert sorted(r["submission_id"] for r in starts) == sorted(expected)
    for submission in graded:
        mine = [r for r in records if r.get("submission_id") == submission.pk]
        assert {r.get("request_id") for r in mine} == {request_ids[submission.pk]}
        assert {r.get("run_id") for r in mine} == {submission.run_token.hex}
        verdict = f"submission {submission.pk}: {submission.status}, "
        assert sum(r["message"].startswith(verdict) for r in mine) == 1

    # The watcher, idle for longer than the channel layer's blocking read, saw it all.
    # (Grading got fast enough to finish the batch within that time: wait out the rest.)
    time.sleep(max(0.0, watched_since + 8.5 - time.monotonic()))
    events = [json.loads(watched.recv(timeout=30))]
    while events[-1]["type"] != "finished":
        events.append(json.loads(watched.recv(timeout=30)))
    assert events[0]["type"] == "started"
    assert events[-1]["results"]["status"] == expected[watched_id]

    # The web process logged each submitting request under the id the balancer sent.
    posts = [
        r
        for r in json_lines(stack.logs / "web.log")
        if r.get("logger") == "taller.request" and r.get("method") == "POST" and r["status"] == 202
    ]
    assert sorted(r["request_id"] for r in posts) == sorted(request_ids.values())
