"""The grading state machine: fencing, takeovers, retries and requeues with a scripted
runner (fake_runner.py), so they run anywhere; what only the real sandbox and the real
rest-api suite can tell, and the state machine once more through them, end_to_end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taller.courses.models import Exercise
from taller.grading import services
from taller.grading.selectors import submission_snapshot, viewer_for
from taller.submissions.models import Submission
from taller.submissions.services import InvalidSubmission, submission_create
from taller_grader.results import Results
from tests.factories import UserFactory

from .conftest import end_to_end
from .fake_runner import FakeRunner, recorded

pytestmark = [pytest.mark.django_db]


def submit(files: dict[str, str], student=None) -> Submission:
    exercise = Exercise.objects.get(slug="rest-api")
    return submission_create(student=student or UserFactory(), exercise=exercise, files=files)


def test_a_correct_solution_passes_and_every_result_is_pushed_in_order(
    course, solution, events, runner, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        submission = submit(solution())  # queued; its task is not sent yet
    events.subscribe(submission.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_grading(submission.pk)

    submission.refresh_from_db()
    assert submission.status == "passed"
    assert submission.score == submission.max_score == 29
    assert submission.queued_at <= submission.started_at <= submission.finished_at
    assert submission.tests.count() == submission.test_count == 21
    assert submission.grader_version == Exercise.objects.get(slug="rest-api").current_version

    pushed = events(submission.pk)
    kinds = [e["type"] for e in pushed]
    assert kinds == ["started", "collected"] + ["test"] * 21 + ["finished"]
    numbers = [e["test"]["number"] for e in pushed if e["type"] == "test"]
    assert numbers == [str(n) for n in range(1, 22)]
    assert pushed[-1]["results"]["status"] == "passed"


@end_to_end
def test_the_recorded_run_is_what_the_real_runner_returns(course, solution) -> None:
    """The scripted runner plays runs/rest-api-solution.json: still the real verdict."""
    from taller.grading.runner import grade_files, spec_for

    version = Exercise.objects.get(slug="rest-api").current_version
    real = grade_files(spec_for(version), solution())

    def verdict(results: Results) -> tuple[object, ...]:
        tests = [
            (t.number, t.name, t.name_en, t.score, t.max_score, t.status, t.visibility)
            for t in results.tests
        ]
        return (results.exercise, results.status, results.score, results.max_score, tests)

    assert verdict(real) == verdict(recorded())


@end_to_end
def test_the_starter_fails_with_messages_a_student_can_act_on(
    course, solution, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(solution("starter"))
    submission.refresh_from_db()
    assert submission.status == "failed"
    assert 0 < submission.score < submission.max_score
    failed = submission.tests.filter(status="failed").order_by("position").first()
    assert "POST /api/tareas" in failed.output and "201" in failed.output and "404" in failed.output


@end_to_end
def test_a_program_that_never_starts_is_an_error_with_its_output(
    course, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit({"server.js": "const x = ;\n"})
    submission.refresh_from_db()
    assert submission.status == "error"
    assert submission.score == 0
    assert "antes de aceptar conexiones en el puerto 3000" in submission.results["output"]
    assert "SyntaxError" in submission.results["stderr"]


@end_to_end
def test_a_disallowed_module_is_rejected_naming_it(course, solution) -> None:
    """The site refuses it before storing anything (the sandbox's own rule); a stored
    submission that still names one (stored before the rule) is rejected by the sandbox."""
    files = {
        "server.js": "require('express')().listen(3000)\n",
        "package.json": '{"dependencies": {"lodash": "^4.17.21"}}',
    }
    with pytest.raises(InvalidSubmission, match="lodash"):
        submit(files)
    submission = submit(solution())
    Submission.objects.filter(pk=submission.pk).update(status="queued", files=files)
    services.run_grading(submission.pk)
    submission.refresh_from_db()
    assert submission.status == "rejected"
    assert "lodash" in submission.results["output"]


def test_a_duplicate_delivery_grades_nothing_twice(
    course, solution, fake_runner, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(solution())
    finished_at = Submission.objects.get(pk=submission.pk).finished_at
    assert services.run_grading(submission.pk).outcome is services.Start.DONE
    again = Submission.objects.get(pk=submission.pk)
    assert again.finished_at == finished_at
    assert again.tests.count() == 21


def test_a_run_held_by_a_live_worker_is_left_alone(course, solution) -> None:
    submission = submit(solution())
    Submission.objects.filter(pk=submission.pk).update(status="running", started_at=timezone.now())
    start = services.grading_start(submission.pk)
    assert start.outcome is services.Start.BUSY
    assert start.retry_after > 0


def test_a_run_whose_worker_died_is_graded_again_once(
    course, solution, fake_runner, django_capture_on_commit_callbacks
) -> None:
    submission = submit(solution())
    long_ago = timezone.now() - timedelta(hours=1)
    Submission.objects.filter(pk=submission.pk).update(status="running", started_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_grading(submission.pk)
    submission.refresh_from_db()
    assert (submission.status, submission.takeovers) == ("passed", 1)

    # The same thing a second time: the platform gives up, visibly, costing no attempt.
    other = submit(solution())
    Submission.objects.filter(pk=other.pk).update(
        status="running", started_at=long_ago, takeovers=1
    )
    services.run_grading(other.pk)
    other.refresh_from_db()
    assert other.status == "internal-error"
    assert other.results["reason"] == {"code": "worker-lost", "params": {}}


def test_an_internal_error_is_retried_then_left_visible(
    course, solution, settings, fake_runner, django_capture_on_commit_callbacks
) -> None:
    settings.TALLER_INTERNAL_ERROR_RETRIES = 1
    fake_runner.plays(recorded("rest-api-broken-suite"))  # the suite is not Python
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(solution())
    submission.refresh_from_db()
    # Graded, failed for the platform's reason, retried once, then left for the staff.
    assert submission.status == "internal-error"
    assert submission.retries == 1
    assert "No es culpa tuya" in submission.results["output"]
    # Why, as a code; what broke (the suite's files, their paths) is in the logs only.
    assert submission.results["reason"] == {"code": "platform-failed", "params": {}}
    assert "test_broken" not in submission.results["output"]


def test_stuck_runs_are_put_back(course, solution, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # see what is queued, do not run it
    settings.TALLER_STUCK_AFTER_SECONDS = 60
    lost = submit(solution())
    fresh = submit(solution(), student=UserFactory())
    Submission.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    from taller.celery import app

    with app.connection_for_write() as conn:
        requeued = services.requeue_stuck()
        queue = conn.default_channel.queue_declare("grading", passive=True)
    assert requeued == [lost.pk]
    assert fresh.pk not in requeued
    assert queue.message_count >= 1


def test_a_runner_that_fails_costs_no_attempt(
    course, solution, settings, fake_runner: FakeRunner, django_capture_on_commit_callbacks
) -> None:
    """The platform's own failure (the runner raised): retried, then left visible; the
    student's next submission is still their first attempt."""
    settings.TALLER_INTERNAL_ERROR_RETRIES = 1
    settings.TALLER_SUBMISSIONS_PER_MINUTE = 100
    student = UserFactory()
    fake_runner.plays(OSError("the sandbox's state directory is gone"))
    with django_capture_on_commit_callbacks(execute=True):
        failed = submit(solution(), student=student)
    failed.refresh_from_db()
    assert (failed.status, failed.retries) == ("internal-error", 1)
    assert "No es culpa tuya" in failed.results["output"]
    assert len(fake_runner.runs) == 2

    fake_runner.plays(recorded())
    with django_capture_on_commit_callbacks(execute=True):
        graded = submit(solution(), student=student)
    graded.refresh_from_db()
    assert (graded.status, graded.attempt, failed.attempt) == ("passed", 1, 1)


@end_to_end
def test_students_never_see_hidden_tests_staff_do(
    course, solution, django_capture_on_commit_callbacks
) -> None:
    from taller.accounts.roles import Role
    from tests.factories import CohortFactory, EnrollmentFactory

    exercise = Exercise.objects.get(slug="rest-api")
    cohort = CohortFactory(course=exercise.section.course)
    teacher = UserFactory(role=Role.INSTRUCTOR)
    cohort.instructors.add(teacher)
    student = EnrollmentFactory(cohort=cohort).student
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(solution("starter"), student=student)

    mine = submission_snapshot(submission.pk, viewer_for(student, submission.pk))
    staff = submission_snapshot(submission.pk, viewer_for(teacher, submission.pk))
    hidden_mine = [t for t in mine["tests"] if t["visibility"] == "hidden"]
    hidden_staff = [t for t in staff["tests"] if t["visibility"] == "hidden"]
    assert hidden_mine and all(t["name"].startswith("prueba oculta") for t in hidden_mine)
    assert all(t["output"] == "" for t in hidden_mine)
    assert any(t["output"] for t in hidden_staff)
    assert all(t["output"] == "" for t in mine["results"]["tests"] if t["visibility"] == "hidden")
    assert viewer_for(UserFactory(), submission.pk) is None


def test_a_run_on_a_worker_that_stopped_answering_is_put_back(course, solution, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    on_dead = submit(solution())
    on_alive = submit(solution(), student=UserFactory())
    Submission.objects.filter(pk=on_dead.pk).update(
        status="running", started_at=timezone.now(), worker="celery@gone"
    )
    Submission.objects.filter(pk=on_alive.pk).update(
        status="running", started_at=timezone.now(), worker="celery@here"
    )
    assert services.requeue_stuck(alive_workers={"celery@here"}) == [on_dead.pk]
    on_dead.refresh_from_db()
    assert (on_dead.status, on_dead.takeovers, on_dead.run_token) == ("queued", 1, None)
    assert Submission.objects.get(pk=on_alive.pk).status == "running"
    # With no answer from anyone, nobody is presumed dead.
    assert services.requeue_stuck(alive_workers=None) == []


def test_results_from_a_run_that_lost_its_hold_are_dropped(course, solution) -> None:
    submission = submit(solution())
    first = services.grading_start(submission.pk, "celery@one")
    # Presumed dead and started again elsewhere...
    Submission.objects.filter(pk=submission.pk).update(
        started_at=timezone.now() - timedelta(hours=1)
    )
    second = services.grading_start(submission.pk, "celery@two")
    assert first.token != second.token
    # ...the first holder comes back with a verdict: it is not recorded.
    from taller_grader.results import Results, RunStatus

    stale = Results.ungraded("rest-api", RunStatus.ERROR, "from the old holder")
    assert services.grading_finish(submission.pk, first.token, stale) is None
    submission.refresh_from_db()
    assert (submission.status, submission.worker) == ("running", "celery@two")
