"""A cohort with the generated students' submissions, analysed by the real Dolos process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise
from taller.similarity.models import SimilarityReport
from taller.similarity.services import similarity_request
from taller.submissions.models import Submission
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    ExerciseFactory,
    GraderVersionFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.similarity.cohort import Student, generate
from tests.similarity.solutions import REFERENCE, STARTER


@dataclass
class World:
    cohort: Cohort
    exercise: Exercise
    teacher: User
    students: dict[str, User] = field(default_factory=dict)
    submissions: dict[str, Submission] = field(default_factory=dict)

    def submit(
        self, username: str, files: dict[str, str], cohort: Cohort | None = None
    ) -> Submission:
        student = self.students.get(username)
        if student is None:
            student = UserFactory(username=username, first_name=username.capitalize())
            EnrollmentFactory(cohort=cohort or self.cohort, student=student)
            self.students[username] = student
        submission = SubmissionFactory(
            student=student,
            exercise=self.exercise,
            cohort=cohort or self.cohort,
            files=files,
            status="passed",
        )
        self.submissions[username] = submission
        return submission


@pytest.fixture
def exercise(db: None) -> Exercise:
    exercise = ExerciseFactory(version=False)
    exercise.current_version = GraderVersionFactory(
        exercise=exercise, starter_files=STARTER, solution_files=REFERENCE
    )
    exercise.save(update_fields=["current_version"])
    return exercise


@pytest.fixture
def world(exercise: Exercise) -> World:
    cohort = CohortFactory(course=exercise.section.course)
    teacher = UserFactory(role=Role.INSTRUCTOR, username="profe")
    cohort.instructors.add(teacher)
    return World(cohort, exercise, teacher)


@pytest.fixture
def generated(world: World) -> list[Student]:
    students = generate(30)
    for student in students:
        world.submit(student.username, student.files)
    return students


@pytest.fixture
def analyse(
    world: World, django_capture_on_commit_callbacks: Any
) -> Callable[..., SimilarityReport]:
    """Ask for the report as the page does; the task runs when the request commits."""

    def run(include_earlier: bool = False) -> SimilarityReport:
        with django_capture_on_commit_callbacks(execute=True):
            outcome = similarity_request(
                cohort=world.cohort,
                exercise=world.exercise,
                include_earlier=include_earlier,
                requested_by=world.teacher,
            )
        outcome.report.refresh_from_db()
        return outcome.report

    return run


@pytest.fixture
def earlier_cohort(world: World) -> Cohort:
    return CohortFactory(
        course=world.cohort.course,
        starts_on=date.today() - timedelta(days=400),
        ends_on=date.today() - timedelta(days=300),
    )


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
