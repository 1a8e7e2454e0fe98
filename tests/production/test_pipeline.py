"""A submission's whole path on the production stack, with real servers and processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from taller.submissions.models import Submission
from tests.factories import PASSWORD, UserFactory

from .stack import Browser, Stack, wait_until

REPO = Path(__file__).resolve().parents[2]
SOLUTION = {"server.js": (REPO / "exercises/rest-api/solution/server.js").read_text()}
TESTS = 21


@pytest.fixture
def course_synced(transactional_db: None) -> None:
    call_command("sync_exercises", verbosity=0)


def final(submission_id: int, timeout: float = 90) -> Submission:
    return wait_until(
        lambda: (s := Submission.objects.get(pk=submission_id)).is_final and s,
        timeout,
        f"submission {submission_id} to be graded",
        interval=0.2,
    )


def listen_until_finished(ws: Any, timeout: float = 60) -> list[dict[str, Any]]:
    events = []
    while True:
        event = json.loads(ws.recv(timeout=timeout))
        events.append(event)
        if event["type"] == "finished" or (
            event["type"] == "snapshot" and event["results"] is not None
        ):
            return events


def test_a_submission_over_http_streams_every_test_live_then_the_verdict(
    stack: Stack, course_synced: None
) -> None:
    stack.start_worker("w1")
    stack.start_web()
    UserFactory(username="ana")
    ana = Browser(stack.port)
    ana.sign_in("ana", PASSWORD)

    submitted = ana.submit("rest-api", SOLUTION)
    with ana.websocket(submitted["ws_path"]) as ws:
        events = listen_until_finished(ws)

    assert events[0]["type"] == "snapshot"
    seen = [t["number"] for t in events[0]["tests"]]
    seen += [e["test"]["number"] for e in events if e["type"] == "test"]
    # Every test once, in the suite's order, then one verdict.
    assert list(dict.fromkeys(seen)) == [str(n) for n in range(1, TESTS + 1)]
    assert sum(e["type"] == "test" for e in events) > 0, "no test arrived live"
    assert [e["type"] for e in events].count("finished") == 1
    verdict = events[-1]["results"]
    assert (verdict["status"], verdict["score"]) == ("passed", 29)
    submission = Submission.objects.get(pk=submitted["id"])
    assert submission.status == "passed" and submission.worker.startswith("w1@")


def test_another_students_subscription_is_refused(stack: Stack, course_synced: None) -> None:
    stack.start_web()
    UserFactory(username="ana")
    UserFactory(username="beto")
    ana, beto = Browser(stack.port), Browser(stack.port)
    ana.sign_in("ana", PASSWORD)
    beto.sign_in("beto", PASSWORD)
    submitted = ana.submit("rest-api", SOLUTION)  # no worker: it stays queued

    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        beto.websocket(submitted["ws_path"])
    assert refused.value.response.status_code == 403
    anonymous = Browser(stack.port)
    with pytest.raises(InvalidStatus):
        anonymous.websocket(submitted["ws_path"])
    with ana.websocket(submitted["ws_path"]) as ws:
        snapshot = json.loads(ws.recv(timeout=10))
    assert (snapshot["status"], snapshot["queue_position"]) == ("queued", 1)


def test_kill_9_of_the_worker_mid_run_ends_with_exactly_one_result(
    stack: Stack, course_synced: None
) -> None:
    stack.start_worker("doomed")
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
    stack.kill("doomed")  # SIGKILL to the worker and its pool: no goodbye

    stack.start_worker("survivor")
    stack.start_beat(interval=1.0)  # the reaper pings workers; "doomed" does not answer
    submission = final(submitted["id"])

    assert submission.status == "passed"
    assert submission.takeovers == 1
    assert submission.worker.startswith("survivor@")
    assert submission.tests.count() == TESTS
    assert sorted(submission.tests.values_list("position", flat=True)) == list(range(1, TESTS + 1))


def test_a_redis_restart_while_runs_are_queued_loses_none(
    stack: Stack, course_synced: None, redis_server: Any
) -> None:
    stack.env["TALLER_STUCK_AFTER_SECONDS"] = "2"
    stack.start_web()
    ids = []
    for name in ("ana", "beto", "carla"):
        UserFactory(username=name)
        browser = Browser(stack.port)
        browser.sign_in(name, PASSWORD)
        ids.append(browser.submit("rest-api", SOLUTION)["id"])
    # Nobody was consuming: the three messages sat in Redis, which now forgets them.
    redis_server.restart()

    stack.start_worker("w1", concurrency=2)
    stack.start_beat(interval=1.0)
    graded = [final(i, timeout=120) for i in ids]
    assert [s.status for s in graded] == ["passed"] * 3
    assert all(s.tests.count() == TESTS for s in graded)
    assert all(s.takeovers == 0 and s.retries == 0 for s in graded)
