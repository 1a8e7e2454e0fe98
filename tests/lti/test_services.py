"""Grades back (AGS), deep linking and the roster (NRPS), against the test LMS over HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from lti_tool.models import LtiMembership

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.accounts.services import set_role
from taller.cohorts.models import Cohort, Enrollment
from taller.grading.services import grading_finish, grading_start
from taller.lti import services
from taller.lti.models import ContextCohort, ScoreSync
from taller.submissions.models import Submission
from taller_grader.results import Results, RunStatus
from tests.factories import CohortExerciseFactory, SubmissionFactory
from tests.lti.conftest import Browser, Taller, forms_of
from tests.lti.lms import Launch, Person, TestLMS
from tests.lti.test_launch import ANA, LUIS, exercise_launch
from tests.production.stack import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

BEA = Person("lms-user-bea", "Bea", "Sanz", "bea@uni.example", "Learner")


def graded(student: User, taller: Taller, cohort: Cohort, score: float) -> Submission:
    """A run graded by the grading state machine (the sandbox is not what is tested)."""
    submission = SubmissionFactory(student=student, exercise=taller.exercise, cohort=cohort)
    start = grading_start(submission.pk, worker="test")
    assert start.token is not None
    grading_finish(
        submission.pk,
        start.token,
        Results(
            exercise=taller.exercise.slug,
            status=RunStatus.PASSED if score == 10 else RunStatus.FAILED,
            score=score,
            max_score=10.0,
            execution_time=1.0,
        ),
    )
    return submission


def launched_with_line_item(lms: TestLMS, taller: Taller) -> tuple[User, Cohort, str]:
    line_item = lms.add_line_item("Una API REST", 10, "")
    with Browser() as browser:
        response = browser.launch(
            lms, taller, lms.prepare(exercise_launch(taller, lineitem=line_item))
        )
    assert response.status_code == 302
    cohort = ContextCohort.objects.get().cohort
    return User.objects.get(lti_users__sub=ANA.sub), cohort, line_item


def late_by_a_day_and_a_half(cohort: Cohort, taller: Taller) -> None:
    cohort.late_penalty_percent_per_day = Decimal("10")
    cohort.late_days_accepted = 3
    cohort.save()
    CohortExerciseFactory(
        cohort=cohort, exercise=taller.exercise, deadline=timezone.now() - timedelta(hours=36)
    )


def test_a_score_reaches_the_line_item_with_the_late_policy_applied(
    lms: TestLMS, taller: Taller
) -> None:
    ana, cohort, line_item = launched_with_line_item(lms, taller)
    late_by_a_day_and_a_half(cohort, taller)

    graded(ana, taller, cohort, 10.0)

    # Two started days late at 10 % a day: the gradebook shows 8 of 10, and so does the LMS.
    (score,) = lms.line_items[line_item].scores
    assert score["userId"] == ANA.sub
    assert (score["scoreGiven"], score["scoreMaximum"]) == (8.0, 10.0)
    assert score["gradingProgress"] == "FullyGraded"
    sync = ScoreSync.objects.get()
    assert (sync.state, sync.score_given) == (ScoreSync.State.SENT, 8.0)


def test_a_worse_attempt_later_does_not_lower_the_grade_sent(lms: TestLMS, taller: Taller) -> None:
    ana, cohort, line_item = launched_with_line_item(lms, taller)
    graded(ana, taller, cohort, 6.0)
    graded(ana, taller, cohort, 3.0)

    assert [s["scoreGiven"] for s in lms.line_items[line_item].scores] == [6.0, 6.0]


def test_a_failed_post_is_shown_and_sent_again_never_lost(
    lms: TestLMS, taller: Taller, admin_client: Client
) -> None:
    ana, cohort, line_item = launched_with_line_item(lms, taller)
    lms.fail_scores = 1000
    graded(ana, taller, cohort, 10.0)

    sync = ScoreSync.objects.get()
    assert sync.state == ScoreSync.State.FAILED
    assert "503" in sync.last_error
    assert lms.line_items[line_item].scores == []
    instructor = User.objects.create(username="profe")
    set_role(instructor, Role.INSTRUCTOR)
    cohort.instructors.add(instructor)
    staff = Client()
    staff.force_login(instructor)
    page = staff.get(f"/lti/cohortes/{cohort.pk}/").content.decode()
    assert "fallida" in page and "503" in page
    # And on the platform's status page, for the admins.
    status = admin_client.get("/docencia/estado/").content.decode()
    assert "Notas para el LMS" in status and "1 fallida" in status
    # Reached from the cohort's reports.
    gradebook = staff.get(f"/docencia/cohortes/{cohort.pk}/calificaciones/").content.decode()
    assert f'href="/lti/cohortes/{cohort.pk}/"' in gradebook

    # The LMS is back; once the row's wait is over, the beat task sends it.
    lms.fail_scores = 0
    ScoreSync.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert services.scores_owed() == [sync.pk]

    (score,) = lms.line_items[line_item].scores
    assert score["scoreGiven"] == 10.0
    assert ScoreSync.objects.get().state == ScoreSync.State.SENT
    assert "El LMS tiene todas las notas." in admin_client.get("/docencia/estado/").content.decode()


def test_an_instructor_resends_the_cohorts_grades(lms: TestLMS, taller: Taller) -> None:
    ana, cohort, line_item = launched_with_line_item(lms, taller)
    graded(ana, taller, cohort, 7.0)
    with Browser() as luis:
        luis.launch(lms, taller, lms.prepare(exercise_launch(taller, LUIS)))
        page = luis.get(f"{taller.url}/lti/cohortes/{cohort.pk}/")
        assert page.status_code == 200
        (form,) = [f for f in forms_of(page.text) if f["action"] == ""]
        response = luis.post(
            f"{taller.url}/lti/cohortes/{cohort.pk}/",
            data={"csrfmiddlewaretoken": form["fields"]["csrfmiddlewaretoken"], "action": "resend"},  # type: ignore[index]
        )
    assert response.status_code == 200
    assert [s["scoreGiven"] for s in lms.line_items[line_item].scores] == [7.0, 7.0]


def test_a_student_cannot_see_the_cohorts_lms_page(lms: TestLMS, taller: Taller) -> None:
    ana, cohort, _ = launched_with_line_item(lms, taller)
    client = Client()
    client.force_login(ana)
    assert client.get(f"/lti/cohortes/{cohort.pk}/").status_code == 403


def deep_link(lms: TestLMS, taller: Taller, item: str) -> dict[str, Any]:
    """An instructor adds an activity: Taller's picker, their choice, the signed answer
    posted back to the LMS; the content item the LMS received."""
    with Browser() as luis:
        picker = luis.launch(
            lms, taller, lms.prepare(Launch(person=LUIS, message_type="LtiDeepLinkingRequest"))
        )
        assert picker.status_code == 200, picker.text
        (form,) = [f for f in forms_of(picker.text) if "launch_id" in f["fields"]]  # type: ignore[operator]
        fields = form["fields"]
        assert item in fields["item[]"]  # type: ignore[index]
        back = luis.post(
            taller.url + str(form["action"]),
            data={
                "csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],  # type: ignore[index]
                "launch_id": fields["launch_id"],  # type: ignore[index]
                "item": item,
            },
        )
        assert back.status_code == 200, back.text
        assert f"form-action 'self' {lms.url}" in back.headers["Content-Security-Policy"]
        (to_lms,) = [f for f in forms_of(back.text) if "JWT" in f["fields"]]  # type: ignore[operator]
        assert to_lms["action"] == f"{lms.url}/deep-link-return"
        assert luis.post(str(to_lms["action"]), data=to_lms["fields"]).status_code == 200

    # The LMS checked Taller's signature with Taller's JWKS.
    claims = lms.deep_link_responses[-1]
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == (
        "LtiDeepLinkingResponse"
    )
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-data"
    (content_item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert content_item["url"] == taller.launch_url
    return content_item  # type: ignore[no-any-return]


def test_deep_linking_places_an_exercise_with_its_maximum_score(
    lms: TestLMS, taller: Taller
) -> None:
    # Its maximum, as its grader's runs have shown it.
    ana, cohort, _ = launched_with_line_item(lms, taller)
    graded(ana, taller, cohort, 4.0)

    item = deep_link(lms, taller, f"exercise:{taller.exercise.slug}")

    assert item["custom"] == {"taller_exercise": taller.exercise.slug}
    assert item["lineItem"]["resourceId"] == f"exercise:{taller.exercise.slug}"
    assert item["lineItem"]["scoreMaximum"] == 10.0
    assert item["title"] == "Una API REST"


def test_the_whole_course_is_placed_and_gets_the_course_total(lms: TestLMS, taller: Taller) -> None:
    course = taller.exercise.section.course
    item = deep_link(lms, taller, f"course:{course.slug}")
    assert item["custom"] == {"taller_course": course.slug}
    assert item["lineItem"]["resourceId"] == f"course:{course.slug}"

    # The LMS made the line item; a student opens the link and lands on the course.
    line_item = lms.add_line_item(item["title"], item["lineItem"]["scoreMaximum"])
    with Browser() as ana_browser:
        response = ana_browser.launch(
            lms,
            taller,
            lms.prepare(
                Launch(person=ANA, custom=item["custom"], lineitem=line_item, resource_link_id="l2")
            ),
        )
    assert response.headers["Location"] == "/curso/"
    ana = User.objects.get(lti_users__sub=ANA.sub)
    graded(ana, taller, ContextCohort.objects.get().cohort, 7.0)

    (score,) = lms.line_items[line_item].scores
    assert (score["scoreGiven"], score["scoreMaximum"]) == (7.0, 10.0)


def test_a_learner_cannot_deep_link(lms: TestLMS, taller: Taller) -> None:
    with Browser() as ana:
        response = ana.launch(
            lms, taller, lms.prepare(Launch(person=ANA, message_type="LtiDeepLinkingRequest"))
        )
    assert response.status_code == 403


def test_the_roster_comes_in_on_launch_and_leavers_stay(lms: TestLMS, taller: Taller) -> None:
    lms.members = [ANA, BEA, LUIS]
    with Browser() as luis:
        luis.launch(lms, taller, lms.prepare(exercise_launch(taller, LUIS)))

        cohort = ContextCohort.objects.get().cohort
        enrolled = set(
            Enrollment.objects.filter(cohort=cohort).values_list("student__first_name", flat=True)
        )
        assert enrolled == {"Ana", "Bea"}
        assert cohort.instructors.get().first_name == "Luis"

        # Bea drops the course in the LMS; the instructor reads the roster again.
        lms.members = [ANA, LUIS]
        page = luis.get(f"{taller.url}/lti/cohortes/{cohort.pk}/")
        (form,) = [f for f in forms_of(page.text) if f["action"] == ""]
        page = luis.post(
            f"{taller.url}/lti/cohortes/{cohort.pk}/",
            data={"csrfmiddlewaretoken": form["fields"]["csrfmiddlewaretoken"], "action": "roster"},  # type: ignore[index]
        )
    assert page.status_code == 200
    assert not LtiMembership.objects.get(user__sub=BEA.sub).is_active
    # Shown as gone, not deleted: her enrolment and work stay.
    assert Enrollment.objects.filter(cohort=cohort, student__first_name="Bea").exists()
    assert "dejó el curso" in page.text


def test_a_changed_deadline_or_late_policy_reaches_the_lms(lms: TestLMS, taller: Taller) -> None:
    ana, cohort, line_item = launched_with_line_item(lms, taller)
    graded(ana, taller, cohort, 10.0)
    # The admin moves the deadline back: the attempt is now two started days late.
    late_by_a_day_and_a_half(cohort, taller)
    # Then makes the policy harsher: 25 % a day.
    cohort.late_penalty_percent_per_day = Decimal("25")
    cohort.save()
    cohort.name = "Otro nombre"  # not a policy change: nothing sent
    cohort.save()

    assert [s["scoreGiven"] for s in lms.line_items[line_item].scores] == [10.0, 8.0, 5.0]


def test_the_embedded_server_sends_scores_from_its_own_threads(
    lms: TestLMS, taller: Taller, settings: Any
) -> None:
    # `make run`'s default: no Celery, grading and sends in the server's thread pool.
    settings.TALLER_GRADING = "inprocess"
    ana, cohort, line_item = launched_with_line_item(lms, taller)
    graded(ana, taller, cohort, 9.0)

    (score,) = wait_until(lambda: lms.line_items[line_item].scores, 30, "the score at the LMS")
    assert score["scoreGiven"] == 9.0
    assert wait_until(
        lambda: ScoreSync.objects.filter(state=ScoreSync.State.SENT).exists(), 30, "sent"
    )
