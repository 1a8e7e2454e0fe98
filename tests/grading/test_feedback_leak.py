"""Hidden tests stay hidden in what a program wrote: a submission that logs every request
shows staff each hidden test's lines under that test, and a student none of them, on the
page, in the polling JSON, in the WebSocket events and in the REST API (the CLI, a client
of those, in tests/api/test_cli.py). Real sandbox, real rest-api suite."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.asgi import application
from taller.courses.models import Exercise
from taller.grading import services
from taller.submissions.models import Submission
from taller.submissions.services import submission_create
from tests.api.world import token_for
from tests.factories import CohortFactory, EnrollmentFactory, SubmissionFactory, UserFactory

from .conftest import END_TO_END

pytestmark = END_TO_END

LOGGER = (
    "app.use((req, res, next) => { "
    'console.log("REQ", req.method, req.url, JSON.stringify(req.body)); next(); });\n'
)


def logging_solution(read: Callable[[str], dict[str, str]]) -> dict[str, str]:
    """The reference solution, logging every request, and accepting a blank title (so a
    hidden test fails: its lines must stay hidden even then)."""
    server = read("solution")["server.js"]
    assert "app.use(express.json());\n" in server and "titulo.trim()" in server
    server = server.replace("app.use(express.json());\n", "app.use(express.json());\n" + LOGGER)
    return {"server.js": server.replace("titulo.trim()", "titulo")}


@dataclass
class Graded:
    submission: Submission
    student: User
    teacher: User
    cohort_id: int

    @property
    def hidden_lines(self) -> list[str]:
        """Every line the program wrote during a hidden test (from the full document)."""
        lines = [
            line
            for test in self.submission.results["tests"]
            if test["visibility"] == "hidden"
            for line in (test.get("stdout", "") + test.get("stderr", "")).splitlines()
            if line.strip()
        ]
        assert lines, "the logging solution wrote nothing during the hidden tests"
        return lines


def _people() -> tuple[User, User, int]:
    exercise = Exercise.objects.get(slug="rest-api")
    cohort = CohortFactory(course=exercise.section.course)
    teacher = UserFactory(role=Role.INSTRUCTOR)
    cohort.instructors.add(teacher)
    student = EnrollmentFactory(cohort=cohort).student
    return student, teacher, cohort.pk


def _submit(student: User, files: dict[str, str]) -> Submission:
    exercise = Exercise.objects.get(slug="rest-api")
    return submission_create(student=student, exercise=exercise, files=files)


@pytest.fixture
def graded(course, solution, django_capture_on_commit_callbacks) -> Graded:
    student, teacher, cohort_id = _people()
    with django_capture_on_commit_callbacks(execute=True):
        submission = _submit(student, logging_solution(solution))
    submission.refresh_from_db()
    assert submission.status == "failed"
    hidden_failed = [
        t
        for t in submission.results["tests"]
        if t["visibility"] == "hidden" and t["status"] == "failed"
    ]
    assert hidden_failed, "a hidden test should fail (blank titles accepted)"
    return Graded(submission, student, teacher, cohort_id)


def text_of(data: Any) -> str:
    """Every string in a JSON value, one per line: what a reader of it can read."""
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        return "\n".join(text_of(v) for v in data.values())
    if isinstance(data, list):
        return "\n".join(text_of(v) for v in data)
    return ""


def assert_hidden_from_student(graded: Graded, student_text: str, staff_text: str) -> None:
    for line in graded.hidden_lines:
        assert line in staff_text, f"staff should read {line!r}"
        assert line not in student_text, f"a student reads a hidden test's line {line!r}"
    # The visible tests' own lines do reach the student, under their test.
    visible = next(
        t
        for t in graded.submission.results["tests"]
        if t["visibility"] == "visible" and t.get("stdout")
    )
    assert visible["stdout"].splitlines()[0] in student_text


@pytest.mark.django_db
def test_the_page(graded: Graded) -> None:
    student, staff = Client(), Client()
    student.force_login(graded.student)
    staff.force_login(graded.teacher)
    page = student.get("/ejercicios/rest-api/")
    report = staff.get(f"/docencia/cohortes/{graded.cohort_id}/estudiantes/{graded.student.pk}/")
    assert page.status_code == report.status_code == 200
    assert_hidden_from_student(
        graded, html.unescape(page.content.decode()), html.unescape(report.content.decode())
    )


@pytest.mark.django_db
def test_the_polling_json(graded: Graded) -> None:
    student, staff = Client(), Client()
    student.force_login(graded.student)
    staff.force_login(graded.teacher)
    url = f"/envios/{graded.submission.pk}/estado/"
    mine, theirs = student.get(url), staff.get(url)
    assert mine.status_code == theirs.status_code == 200
    assert_hidden_from_student(graded, text_of(mine.json()), text_of(theirs.json()))
    hidden = [t for t in mine.json()["results"]["tests"] if t["visibility"] == "hidden"]
    assert all(set(t) <= {"number", "name", "name_en", "score", "max_score", "status",
                          "output", "visibility"} and not t["output"] for t in hidden)  # fmt: skip


@pytest.mark.django_db
def test_the_rest_api(graded: Graded) -> None:
    texts = []
    for user in (graded.student, graded.teacher):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        response = client.get(f"/api/v1/submissions/{graded.submission.pk}/")
        assert response.status_code == 200
        texts.append(text_of(response.json()))
    assert_hidden_from_student(graded, texts[0], texts[1])


async def _follow(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    received = []
    while True:
        event = await communicator.receive_json_from(timeout=60)
        received.append(event)
        if event["type"] == "finished":
            return received


@pytest.mark.django_db(transaction=True)
def test_the_websocket_events(course, solution) -> None:
    student, teacher, cohort_id = _people()
    # Queued without the service, whose on-commit task would grade it (eagerly, here)
    # before anyone is watching.
    submission = SubmissionFactory(
        student=student,
        exercise=Exercise.objects.get(slug="rest-api"),
        cohort_id=cohort_id,
        files=logging_solution(solution),
        queued_at=timezone.now(),
    )
    tokens = [token_for(user) for user in (student, teacher)]

    async def watch() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
        await database_sync_to_async(services.run_grading)(submission.pk)
        seen = [await _follow(w) for w in watchers]
        for w in watchers:
            await w.disconnect()
        return seen[0], seen[1]

    mine, theirs = async_to_sync(watch)()
    submission.refresh_from_db()
    graded = Graded(submission, student, teacher, cohort_id)
    assert [e["type"] for e in mine if e["type"] == "test"] == ["test"] * 21
    assert_hidden_from_student(graded, text_of(mine), text_of(theirs))
    # Live, each test event already carries that test's own lines (staff see them all).
    live_hidden = [
        e["test"] for e in theirs if e["type"] == "test" and e["test"]["visibility"] == "hidden"
    ]
    assert any(t.get("stdout") for t in live_hidden)
