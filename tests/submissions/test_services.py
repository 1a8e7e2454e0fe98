from __future__ import annotations

import pytest

from taller.courses.models import Exercise
from taller.submissions.services import InvalidSubmission, submission_create
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_attempts_are_numbered_per_student_and_exercise(course: None) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    ana, beto = UserFactory(), UserFactory()
    numbers = [
        submission_create(student=ana, exercise=exercise, files={"server.js": "1"}).attempt
        for _ in range(3)
    ]
    assert numbers == [1, 2, 3]
    assert submission_create(student=beto, exercise=exercise, files={"server.js": "1"}).attempt == 1


def test_a_submission_belongs_to_the_students_cohort(course: None) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    enrollment = EnrollmentFactory(cohort__course=exercise.section.course)
    submission = submission_create(
        student=enrollment.student, exercise=exercise, files={"server.js": ""}
    )
    assert submission.cohort == enrollment.cohort
    assert submission.queued_at is not None


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no tiene archivos"),
        ({"/etc/passwd": "x"}, "no permitido"),
        ({"a/../../b.js": "x"}, "no permitido"),
        ({"a\\b.js": "x"}, "no permitido"),
        ({"a\0.js": "x"}, "no permitido"),
        ({"server.js": "x" * (256 * 1024 + 1)}, "más que el máximo"),
        ({f"f{i}.js": "" for i in range(21)}, "Demasiados archivos"),
    ],
)
def test_bad_files_are_refused_before_anything_is_stored(
    course: None, files: dict, message: str
) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    with pytest.raises(InvalidSubmission, match=message):
        submission_create(student=UserFactory(), exercise=exercise, files=files)
    assert not exercise.submissions.exists()
