from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taller.courses.models import Exercise
from taller.submissions.models import Submission
from taller.submissions.services import InvalidSubmission, RateLimited, submission_create
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_attempts_are_numbered_per_student_and_exercise(course: None, settings) -> None:
    settings.TALLER_MAX_IN_FLIGHT = 5
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


def test_one_run_in_flight_per_student(course: None) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    ana = UserFactory()
    first = submission_create(student=ana, exercise=exercise, files={"server.js": "1"})
    with pytest.raises(RateLimited) as caught:
        submission_create(student=ana, exercise=exercise, files={"server.js": "2"})
    assert caught.value.retry_after > 0
    # Someone else is not held up, and once the run is over Ana may submit again.
    submission_create(student=UserFactory(), exercise=exercise, files={"server.js": "1"})
    Submission.objects.filter(pk=first.pk).update(status="failed")
    assert submission_create(student=ana, exercise=exercise, files={"server.js": "2"}).attempt == 2


def test_submissions_per_minute_are_limited(course: None, settings) -> None:
    settings.TALLER_MAX_IN_FLIGHT = 100
    settings.TALLER_SUBMISSIONS_PER_MINUTE = 3
    exercise = Exercise.objects.get(slug="rest-api")
    ana = UserFactory()
    for _ in range(3):
        submission_create(student=ana, exercise=exercise, files={"server.js": "1"})
    with pytest.raises(RateLimited, match="Demasiadas entregas") as caught:
        submission_create(student=ana, exercise=exercise, files={"server.js": "1"})
    assert 1 <= caught.value.retry_after <= 60
    # A minute later the window has moved on.
    Submission.objects.filter(student=ana).update(
        submitted_at=timezone.now() - timedelta(seconds=61)
    )
    submission_create(student=ana, exercise=exercise, files={"server.js": "1"})


def test_internal_errors_cost_no_attempt(course: None) -> None:
    exercise = Exercise.objects.get(slug="rest-api")
    ana = UserFactory()
    first = submission_create(student=ana, exercise=exercise, files={"server.js": "1"})
    Submission.objects.filter(pk=first.pk).update(status="internal-error")
    assert submission_create(student=ana, exercise=exercise, files={"server.js": "1"}).attempt == 1


def test_a_regrade_keeps_the_attempt_and_spares_the_students_quota(settings) -> None:
    from taller.submissions.services import NotRegradable, submission_regrade
    from tests.factories import ExerciseFactory, GraderVersionFactory, SubmissionFactory

    settings.TALLER_SUBMISSIONS_PER_MINUTE = 2
    exercise = ExerciseFactory()
    student = UserFactory()
    original = SubmissionFactory(student=student, exercise=exercise, status="failed", attempt=1)
    # A newer grader since: the regrade uses it, the original keeps its own.
    newer = GraderVersionFactory(exercise=exercise)
    exercise.current_version = newer
    exercise.save()
    first = submission_regrade(original=original)
    assert (first.grader_version, first.attempt, first.regrade_of) == (newer, 1, original)
    with pytest.raises(NotRegradable):
        submission_regrade(original=first)  # still queued
    first.status = "passed"
    first.save()
    # A regrade of a regrade points at what the student submitted.
    assert submission_regrade(original=first).regrade_of == original
    # Two regrades in flight, one student submission this minute: the student may still
    # submit, and it is their attempt 2.
    again = submission_create(student=student, exercise=exercise, files={"server.js": "1"})
    assert again.attempt == 2


def test_the_sites_words_for_the_file_rule_are_the_sandboxes() -> None:
    """One rule, one wording: the site's translatable templates are the sandbox's."""
    from django.utils import translation

    from taller.submissions.messages import FILE_RULE_MESSAGES
    from taller_grader.sandbox.files import MESSAGES

    with translation.override("es"):
        assert {code: str(text) for code, text in FILE_RULE_MESSAGES.items()} == MESSAGES


def test_the_file_rules_reason_is_in_the_students_language(db: None) -> None:
    from django.utils import translation

    from taller.submissions.services import InvalidSubmission, validate_files

    with translation.override("en"):
        with pytest.raises(InvalidSubmission) as refused:
            validate_files({"a\x01.js": "x"})
        # The refusal is data (a code); it is said in the language of whoever reads it.
        assert refused.value.code == "control"
        assert "a control character" in str(refused.value) and "a\\x01.js" in str(refused.value)


def test_every_refusal_and_reason_has_its_english_words() -> None:
    """The site is bilingual: a refusal or a run's reason whose words the English
    catalogue lacks would reach an English reader in Spanish."""
    from django.utils import translation

    from taller.submissions.messages import REFUSALS
    from taller.web.feedback import REASONS

    words = {**{f"refusal {c}": t for c, t in REFUSALS.items()},
             **{f"reason {c}": t for c, t in REASONS.items()}}  # fmt: skip
    with translation.override("es"):
        spanish = {key: str(text) for key, text in words.items()}
    with translation.override("en"):
        english = {key: str(text) for key, text in words.items()}
    assert [key for key in words if english[key] == spanish[key]] == []
