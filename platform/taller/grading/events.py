"""The live events of a submission, defined once (docs/events.md).

One pydantic model per event type, and a union discriminated by `type`, as Zulip's
`event_types.py` does. The services build the events they push only through these models
(grading/push.py sends `model_dump(mode="json")`); the WebSocket consumer sends each
subscriber its copy, filtered for its user (grading/selectors.Viewer), after a first
`snapshot`. A test or a results document inside an event is the grading contract's own
shape (taller_grader/results.py): validated by its `from_dict`, written by its `to_dict`,
so the wire format is the contract's, not a second copy of it.

`docs/events.schema.json` is generated from these models (`manage.py events_schema`,
`make schema`); the page's script and the `taller` client are tested against it.

Imports nothing from Django: the schema and the checks need no database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
)

from taller_grader.results import Results, Visibility
from taller_grader.results import TestResult as TestOutcome


def _test_in(value: Any) -> TestOutcome:
    if isinstance(value, TestOutcome):
        return value  # built and checked by the contract already
    if isinstance(value, dict):
        return TestOutcome.from_dict(value)
    raise ValueError("a test must be an object")


def _results_in(value: Any) -> Results:
    if isinstance(value, Results):
        return value
    if isinstance(value, dict):
        return Results.from_dict(value)
    raise ValueError("a results document must be an object")


# The contract's dataclasses, read with its own validation (their schema is theirs) and
# written as its documents are (a version 1 test reads the same; 1.0 is written 1).
Test = Annotated[
    TestOutcome,
    PlainValidator(_test_in, json_schema_input_type=TestOutcome),
    PlainSerializer(lambda test: test.to_dict(), return_type=dict),
]
ResultsDocument = Annotated[
    Results,
    PlainValidator(_results_in, json_schema_input_type=Results),
    PlainSerializer(lambda results: results.to_dict(), return_type=dict),
]


def _type_required(schema: dict[str, Any]) -> None:
    # Every event on the wire names its type; the default is only for building one.
    schema["required"] = ["type", *[r for r in schema.get("required", []) if r != "type"]]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_type_required)


class StartedEvent(_Event):
    """A worker took the run: any tests shown before belong to a run that starts over."""

    type: Literal["started"] = "started"


class CollectedEvent(_Event):
    """The suite's tests are known (names, points); none has run yet."""

    type: Literal["collected"] = "collected"
    tests: list[Test]


class TestEvent(_Event):
    """One test finished: its result, sent as soon as it is known (and saved)."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    type: Literal["test"] = "test"
    test: Test


class RequeuedEvent(_Event):
    """The platform failed (or the worker died): the run waits in the queue again, and
    its tests are gone. Not the student's fault; it costs no attempt."""

    type: Literal["requeued"] = "requeued"


class FinishedEvent(_Event):
    """The verdict: the whole results document, authoritative over every earlier event."""

    type: Literal["finished"] = "finished"
    results: ResultsDocument


SubmissionStatus = Literal[
    "queued",
    "running",
    "passed",
    "failed",
    "error",
    "timeout",
    "rejected",
    "internal-error",
]


class SnapshotEvent(_Event):
    """What the run is right now, sent first on every connection (grading/selectors
    snapshot_of): a page that connects late, or again, starts from the truth."""

    type: Literal["snapshot"] = "snapshot"
    id: int
    status: SubmissionStatus
    attempt: int
    queue_position: int | None = Field(description="1 for the next to start; null unless queued")
    test_count: int | None = Field(description="null until the suite's tests are collected")
    score: float | None
    max_score: float | None
    tests: list[Test] = Field(description="the tests finished so far; none while queued")
    results: ResultsDocument | None = Field(description="the verdict; null until finished")


PushedEvent = Annotated[
    StartedEvent | CollectedEvent | TestEvent | RequeuedEvent | FinishedEvent,
    Field(discriminator="type"),
]
# What a WebSocket client receives: the snapshot, then the pushed events.
LiveEvent = Annotated[
    SnapshotEvent | StartedEvent | CollectedEvent | TestEvent | RequeuedEvent | FinishedEvent,
    Field(discriminator="type"),
]


def _tests_of(event: BaseModel) -> Iterator[TestOutcome]:
    """Every test an event carries, in its list, its single test and its results."""
    if isinstance(event, CollectedEvent | SnapshotEvent):
        yield from event.tests
    if isinstance(event, TestEvent):
        yield event.test
    results = getattr(event, "results", None)
    if results is not None:
        yield from results.tests


def _as_a_student_reads(event: BaseModel) -> BaseModel:
    # Results.for_student(): a hidden test keeps its number, score and status, nothing
    # of what it did (docs/results.md). A student's copy carrying more is a leak.
    for test in _tests_of(event):
        if test.visibility is Visibility.HIDDEN and (
            test.output or test.check is not None or test.exchanges or test.stdout or test.stderr
        ):
            raise ValueError(f"hidden test {test.number} carries what only staff may read")
    return event


# Staff read every event whole; a student's copy of the same event has the same shape,
# with its hidden tests reduced as Results.for_student() reduces them.
PUSHED = TypeAdapter[Any](PushedEvent)
FOR_STAFF = TypeAdapter[Any](LiveEvent)
FOR_STUDENT = TypeAdapter[Any](Annotated[LiveEvent, AfterValidator(_as_a_student_reads)])


def json_schema() -> dict[str, Any]:
    """The JSON Schema of what a WebSocket client receives (docs/events.schema.json)."""
    schema = FOR_STAFF.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Taller live event",
        "description": (
            "One message of /ws/submissions/<id>/: a snapshot first, then the events the "
            "grading pushes (docs/events.md). A student's copy has the same shape; its "
            "hidden tests carry only number, name, name_en, score, max_score, status, an "
            "empty output and visibility."
        ),
        **schema,
    }
