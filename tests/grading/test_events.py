"""The live events (grading/events.py, docs/events.md): every event the services push,
and every copy the WebSocket sends a student and a member of staff, is one of the models
and valid against the committed JSON Schema; the schema is the models' own.

Real sandbox, real rest-api suite, a program that logs every request (so hidden tests
have lines of their own, which a student's copy must not carry); the requeues through
the services that send them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.utils import timezone
from pydantic import TypeAdapter, ValidationError

from taller.asgi import application
from taller.courses.models import Exercise
from taller.grading import events as live
from taller.grading import services
from taller.grading.management.commands.events_schema import schema_text
from taller.submissions.models import Submission
from taller_grader.results import Results, RunStatus
from tests.api.world import token_for
from tests.factories import SubmissionFactory

from .conftest import requires_sandbox
from .test_feedback_leak import _people, logging_solution

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "docs" / "events.schema.json"
EVERY_TYPE = {"snapshot", "started", "collected", "test", "requeued", "finished"}


def committed_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_the_committed_schema_is_the_models_own(tmp_path: Path) -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/events.schema.json is stale: python manage.py events_schema   (or: make schema)"
    )
    out = tmp_path / "events.schema.json"
    call_command("events_schema", file=str(out))
    assert out.read_text(encoding="utf-8") == schema_text()
    jsonschema.Draft202012Validator.check_schema(committed_schema())


def test_the_documented_examples_are_a_students_valid_events() -> None:
    """docs/events.examples.json, which the page's script and the client are tested with."""
    examples = json.loads((REPO / "docs" / "events.examples.json").read_text())["events"]
    schema = jsonschema.Draft202012Validator(committed_schema())
    assert {e["type"] for e in examples} == EVERY_TYPE
    for payload in examples:
        validate(live.FOR_STUDENT, schema, payload)


def validate(
    adapter: TypeAdapter[Any], schema: jsonschema.Draft202012Validator, payload: dict[str, Any]
) -> None:
    """The payload is the model's, written back exactly as sent, and valid JSON Schema."""
    event = adapter.validate_python(payload)
    assert adapter.dump_python(event, mode="json") == payload
    schema.validate(payload)


async def _follow(communicator: WebsocketCommunicator, until: str) -> list[dict[str, Any]]:
    received = []
    while True:
        event = await communicator.receive_json_from(timeout=60)
        received.append(event)
        if event["type"] == until:
            return received


@requires_sandbox
@pytest.mark.django_db(transaction=True)
def test_every_event_pushed_and_every_copy_sent_is_a_valid_event(
    course, solution, events: Any
) -> None:
    student, teacher, cohort_id = _people()
    submission = SubmissionFactory(
        student=student,
        exercise=Exercise.objects.get(slug="rest-api"),
        cohort_id=cohort_id,
        files=logging_solution(solution),
        queued_at=timezone.now(),
    )
    events.subscribe(submission.pk)  # the push boundary: what the services sent
    tokens = [token_for(user) for user in (student, teacher)]

    def fail_once_then_grade() -> None:
        # The worker's own failure, as the runner reports it: the run is requeued, sent
        # again (at once: Celery runs eagerly in the tests) and graded to the end.
        start = services.grading_start(submission.pk, "celery@w1")
        assert start.token is not None
        failure = Results.ungraded("rest-api", RunStatus.INTERNAL_ERROR, "fallo de prueba")
        services.grading_finish(submission.pk, start.token, failure)

    async def watch() -> list[list[dict[str, Any]]]:
        watchers = []
        for token in tokens:
            communicator = WebsocketCommunicator(
                application,
                f"/ws/submissions/{submission.pk}/",
                headers=[
                    (b"origin", b"http://testserver"),
                    (b"host", b"testserver"),
                    (b"authorization", f"Bearer {token}".encode()),
                ],
            )
            connected, _ = await communicator.connect(timeout=10)
            assert connected
            watchers.append(communicator)
        await database_sync_to_async(fail_once_then_grade)()
        seen = [await _follow(w, "finished") for w in watchers]
        for w in watchers:
            await w.disconnect()
        # A page that connects once it is over: a snapshot holding the verdict.
        for token, copies in zip(tokens, seen, strict=True):
            late = WebsocketCommunicator(
                application,
                f"/ws/submissions/{submission.pk}/",
                headers=[
                    (b"origin", b"http://testserver"),
                    (b"host", b"testserver"),
                    (b"authorization", f"Bearer {token}".encode()),
                ],
            )
            assert (await late.connect(timeout=10))[0]
            copies.append(await late.receive_json_from(timeout=10))
            await late.disconnect()
        return seen

    mine, theirs = async_to_sync(watch)()
    pushed = events(submission.pk)
    schema = jsonschema.Draft202012Validator(committed_schema())

    assert {e["type"] for e in pushed} == EVERY_TYPE - {"snapshot"}
    assert [e["type"] for e in pushed].count("requeued") == 1
    for payload in pushed:
        validate(live.PUSHED, schema, payload)
    for copies, adapter in ((theirs, live.FOR_STAFF), (mine, live.FOR_STUDENT)):
        assert {e["type"] for e in copies} == EVERY_TYPE
        assert copies[-1]["type"] == "snapshot" and copies[-1]["results"] is not None
        for payload in copies:
            validate(adapter, schema, payload)

    # The student's model is not a formality: staff's copies (hidden tests' own lines)
    # are refused by it.
    refused = []
    for payload in theirs:
        try:
            live.FOR_STUDENT.validate_python(payload)
        except ValidationError:
            refused.append(payload["type"])
    assert "test" in refused and "finished" in refused and "snapshot" in refused


def test_a_malformed_event_is_refused_before_it_leaves_the_process() -> None:
    with pytest.raises(ValidationError):
        live.PUSHED.validate_python({"type": "finish", "results": {}})
    too_many_points = {"number": "1", "name": "x", "score": 2, "max_score": 1, "status": "failed"}
    with pytest.raises(ValidationError):
        live.PUSHED.validate_python({"type": "test", "test": too_many_points})


def test_a_snapshots_statuses_are_the_submissions() -> None:
    assert set(get_args(live.SubmissionStatus)) == set(Submission.Status.values)
