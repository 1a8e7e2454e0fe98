"""A small world for the API: one course, two cohorts, two students, their staff (fixtures
in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise
from taller.submissions.models import Submission
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    ExerciseFactory,
    SubmissionFactory,
    UserFactory,
)

HIDDEN_SECRET = "entrada-secreta-de-la-prueba-oculta"

RESULTS = {
    "exercise": "ejercicio",
    "status": "failed",
    "score": 1,
    "max_score": 2,
    "execution_time": 1.5,
    "output": "",
    "stdout": "",
    "stderr": "",
    "tests": [
        {
            "number": "1",
            "name": "GET /api/tareas responde 200",
            "score": 1,
            "max_score": 1,
            "status": "passed",
            "output": "",
            "visibility": "visible",
        },
        {
            "number": "2",
            "name": f"POST con {HIDDEN_SECRET}",
            "score": 0,
            "max_score": 1,
            "status": "failed",
            "output": f"esperaba 201 con {HIDDEN_SECRET}",
            "visibility": "hidden",
        },
    ],
}


@dataclass
class World:
    exercise: Exercise
    cohort: Cohort
    other_cohort: Cohort
    users: dict[str, User]
    submission: Submission  # student_a's, graded, with a hidden test


ACTORS = ["anonymous", "student_a", "student_b", "instructor", "other_instructor", "admin"]


@pytest.fixture
def world(db: None) -> World:
    exercise = ExerciseFactory(title_es="Tareas con Express", title_en="Tasks with Express")
    course = exercise.section.course
    users = {
        "student_a": UserFactory(username="ana"),
        "student_b": UserFactory(username="beto"),
        "instructor": UserFactory(username="ines", role=Role.INSTRUCTOR),
        "other_instructor": UserFactory(username="otto", role=Role.INSTRUCTOR),
        "admin": UserFactory(username="adela", role=Role.ADMIN),
    }
    cohort = CohortFactory(course=course, name="Mañana")
    cohort.instructors.add(users["instructor"])
    other = CohortFactory(course=course, name="Tarde")
    other.instructors.add(users["other_instructor"])
    # Both students share a cohort: seeing each other's work must still be impossible.
    EnrollmentFactory(cohort=cohort, student=users["student_a"])
    EnrollmentFactory(cohort=cohort, student=users["student_b"])
    submission = SubmissionFactory(
        student=users["student_a"],
        exercise=exercise,
        cohort=cohort,
        status="failed",
        score=1,
        max_score=2,
        results=RESULTS,
        test_count=2,
        attempt=1,
    )
    for position, test in enumerate(RESULTS["tests"], start=1):
        submission.tests.create(position=position, **test)  # type: ignore[arg-type]
    return World(exercise, cohort, other, users, submission)


def token_for(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def api_as(world: World) -> Callable[[str], APIClient]:
    def make(actor: str) -> APIClient:
        client = APIClient()
        if actor != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(world.users[actor])}")
        client.user = world.users.get(actor)  # type: ignore[attr-defined]
        return client

    return make


def files(**extra: Any) -> dict[str, str]:
    return {"server.js": "require('express')().listen(3000)\n", **extra}
