"""Instructors regrade a cohort's latest attempts (or one submission) with a chosen grader
version; earlier results stay beside the new ones."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from django.test import Client

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise, GraderVersion
from taller.submissions.models import RegradeBatch, Submission
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    ExerciseFactory,
    GraderVersionFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.grading.conftest import requires_sandbox

db = pytest.mark.django_db


@dataclass
class Setting:
    cohort: Cohort
    exercise: Exercise
    student: User
    submission: Submission
    people: dict[str, User | None]


@pytest.fixture
def setting() -> Setting:
    exercise = ExerciseFactory()
    cohort = CohortFactory()
    mine = UserFactory(role=Role.INSTRUCTOR)
    cohort.instructors.add(mine)
    other = UserFactory(role=Role.INSTRUCTOR)
    CohortFactory().instructors.add(other)
    student = UserFactory(first_name="Ana", last_name="Pérez")
    EnrollmentFactory(cohort=cohort, student=student)
    submission = SubmissionFactory(
        student=student, exercise=exercise, cohort=cohort, status="failed", score=3, max_score=10
    )
    people = {
        "anonymous": None,
        "student": student,
        "other-instructor": other,
        "instructor": mine,
        "admin": UserFactory(role=Role.ADMIN),
    }
    return Setting(cohort, exercise, student, submission, people)


def as_(client: Client, user: User | None) -> Client:
    if user is not None:
        client.force_login(user)
    return client


# Who may do what: the sign-in page, forbidden, as if it did not exist, allowed.
EXPECTED = {
    "anonymous": 302,
    "student": 403,
    "other-instructor": 404,
    "instructor": 200,
    "admin": 200,
}
ROLES = list(EXPECTED)


@db
@pytest.mark.parametrize("role", ROLES)
def test_the_regrade_pages_per_role(client: Client, setting: Setting, role: str) -> None:
    batch = RegradeBatch.objects.create(
        cohort=setting.cohort,
        exercise=setting.exercise,
        grader_version=setting.exercise.current_version,
    )
    SubmissionFactory(
        student=setting.student,
        exercise=setting.exercise,
        cohort=setting.cohort,
        regrade_of=setting.submission,
        regrade_batch=batch,
        status="passed",
        score=9,
        max_score=10,
    )
    as_(client, setting.people[role])
    base = f"/docencia/cohortes/{setting.cohort.pk}/recalificaciones/"
    urls = [
        base,
        f"{base}{batch.pk}/",
        f"{base}{batch.pk}/estado/",
        f"/docencia/envios/{setting.submission.pk}/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == EXPECTED[role], url
        if role == "anonymous":
            assert response["Location"].startswith("/entrar/")
    if EXPECTED[role] == 200:
        page = client.get(f"{base}{batch.pk}/").content.decode()
        assert "Ana Pérez" in page and "3 / 10" in page and "9 / 10" in page
        assert client.get(f"{base}{batch.pk}/estado/").json()["done"] == 1
        listing = client.get(base).content.decode()
        assert f'href="{base}{batch.pk}/"' in listing and "1 / 1" in listing
        cohort_page = client.get(f"/docencia/cohortes/{setting.cohort.pk}/").content.decode()
        assert f'href="{base}"' in cohort_page


@db
@pytest.mark.parametrize("role", ROLES)
def test_a_cohort_regrade_is_started_only_by_its_staff(
    client: Client, setting: Setting, role: str, django_capture_on_commit_callbacks
) -> None:
    as_(client, setting.people[role])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            f"/docencia/cohortes/{setting.cohort.pk}/recalificaciones/",
            {"version": setting.exercise.current_version_id, "token": str(uuid.uuid4())},
        )
    allowed = EXPECTED[role] == 200
    assert response.status_code == (302 if allowed else EXPECTED[role])
    assert RegradeBatch.objects.exists() is allowed
    if allowed:
        batch = RegradeBatch.objects.get()
        assert response["Location"] == (
            f"/docencia/cohortes/{setting.cohort.pk}/recalificaciones/{batch.pk}/"
        )
        assert batch.requested_by == setting.people[role]


@db
@pytest.mark.parametrize("role", ROLES)
def test_a_single_submission_is_regraded_only_by_its_cohorts_staff(
    client: Client, setting: Setting, role: str, django_capture_on_commit_callbacks
) -> None:
    as_(client, setting.people[role])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/docencia/envios/{setting.submission.pk}/recalificar/")
    allowed = EXPECTED[role] == 200
    assert response.status_code == (302 if allowed else EXPECTED[role])
    regrades = Submission.objects.filter(regrade_of=setting.submission)
    assert regrades.count() == (1 if allowed else 0)
    if allowed:
        page = client.get(response["Location"]).content.decode()
        assert "Recalificando el intento" in page
        assert "recalificación" in page and "envío del estudiante" in page


@db
def test_a_single_regrade_takes_a_chosen_version_and_comes_back(
    client: Client, setting: Setting, django_capture_on_commit_callbacks
) -> None:
    exercise = setting.exercise
    older = exercise.current_version
    newer_valid = GraderVersionFactory(exercise=exercise, state="valid")
    draft = GraderVersionFactory(exercise=exercise, state="draft")
    other_exercise = ExerciseFactory().current_version
    client.force_login(setting.people["instructor"])
    url = f"/docencia/envios/{setting.submission.pk}/recalificar/"
    back = f"/docencia/cohortes/{setting.cohort.pk}/"
    with django_capture_on_commit_callbacks(execute=False):
        for bad in (draft.pk, other_exercise.pk, "x"):
            page = client.post(url, {"version": bad, "next": back}, follow=True)
            assert "Elige una versión válida o publicada." in page.content.decode()
        assert not Submission.objects.filter(regrade_of=setting.submission).exists()
        response = client.post(url, {"version": newer_valid.pk, "next": back})
        assert response["Location"] == back
        # Someone else's site is not a place to send people back to.
        response = client.post(url, {"version": older.pk, "next": "https://evil.example/"})
        assert response["Location"] == f"/docencia/envios/{setting.submission.pk}/"
        # The same click again while it is in flight adds nothing.
        page = client.post(url, {"version": older.pk}, follow=True).content.decode()
        assert "ya se está recalificando con la versión" in page
    versions = Submission.objects.filter(regrade_of=setting.submission).values_list(
        "grader_version", flat=True
    )
    assert sorted(versions) == sorted([newer_valid.pk, older.pk])
    # The submission page offers the versions worth regrading with, and no others.
    page = client.get(f"/docencia/envios/{setting.submission.pk}/").content.decode()
    options = re.findall(r'<option value="(\d+)"', page)
    assert sorted(int(o) for o in options) == sorted([older.pk, newer_valid.pk])


@db
def test_a_double_post_starts_one_batch(
    client: Client, setting: Setting, django_capture_on_commit_callbacks
) -> None:
    cohort = setting.cohort
    second = UserFactory()
    EnrollmentFactory(cohort=cohort, student=second)
    SubmissionFactory(student=second, exercise=setting.exercise, cohort=cohort, status="passed")
    client.force_login(setting.people["instructor"])
    url = f"/docencia/cohortes/{cohort.pk}/recalificaciones/"
    form = client.get(url).content.decode()
    token = re.search(r'name="token" value="([0-9a-f-]+)"', form).group(1)
    data = {"version": setting.exercise.current_version_id, "token": token}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = client.post(url, data)
        again = client.post(url, data, follow=True)
        # A fresh form, while the first batch is still being graded: refused too.
        fresh = client.post(url, {**data, "token": str(uuid.uuid4())}, follow=True)
    batch = RegradeBatch.objects.get()
    assert first["Location"] == again.redirect_chain[-1][0] == fresh.redirect_chain[-1][0]
    assert "Esta recalificación ya se pidió." in again.content.decode()
    assert "en curso" in fresh.content.decode()
    assert batch.submissions.count() == 2
    assert len(callbacks) == 2  # one grading task per student, not four
    assert Submission.objects.filter(regrade_of__isnull=False).count() == 2


@db
def test_draft_and_invalid_versions_are_not_offered_nor_accepted(
    client: Client, setting: Setting
) -> None:
    invalid = GraderVersionFactory(exercise=setting.exercise, state="invalid")
    client.force_login(setting.people["admin"])
    url = f"/docencia/cohortes/{setting.cohort.pk}/recalificaciones/"
    page = client.get(url).content.decode()
    assert f'value="{setting.exercise.current_version_id}"' in page
    assert f'value="{invalid.pk}"' not in page
    response = client.post(url, {"version": invalid.pk, "token": str(uuid.uuid4())})
    assert response.status_code == 400
    assert not RegradeBatch.objects.exists()


@db
def test_nothing_to_regrade_is_said_plainly(client: Client, setting: Setting) -> None:
    empty = ExerciseFactory()
    client.force_login(setting.people["instructor"])
    response = client.post(
        f"/docencia/cohortes/{setting.cohort.pk}/recalificaciones/",
        {"version": empty.current_version_id, "token": str(uuid.uuid4())},
    )
    assert response.status_code == 400
    assert "Nadie de este cohorte ha enviado este ejercicio todavía." in response.content.decode()


def _bump_points(suite: dict[str, str]) -> dict[str, str]:
    """The event-loop suite with one test worth 8 points instead of 4 (26 → 30)."""
    name = "test_event_loop.py"
    marker = "@pytest.mark.points(4)\ndef test_fib_fuera_del_hilo_principal"
    assert marker in suite[name]
    return {**suite, name: suite[name].replace(marker, marker.replace("(4)", "(8)"))}


@db
@requires_sandbox
def test_a_cohort_regrade_grades_for_real_with_the_chosen_version(
    client: Client, course: None, repo, django_capture_on_commit_callbacks
) -> None:
    exercise = Exercise.objects.get(slug="event-loop")
    current = exercise.current_version
    # A validated, unpublished version whose suite scores differently: the regrade must
    # use it although new submissions still get the current one.
    newer = GraderVersion.objects.create(
        exercise=exercise,
        number=current.number + 1,
        content_hash="b" * 64,
        state=GraderVersion.State.VALID,
        source="edit",
        manifest=current.manifest,
        statement_es=current.statement_es,
        statement_en=current.statement_en,
        starter_files=current.starter_files,
        solution_files=current.solution_files,
        suite_files=_bump_points(current.suite_files),
    )
    cohort = CohortFactory()
    instructor = UserFactory(role=Role.INSTRUCTOR)
    cohort.instructors.add(instructor)

    def student(name: str, into: Cohort = cohort) -> User:
        user = UserFactory(first_name=name)
        EnrollmentFactory(cohort=into, student=user)
        return user

    def attempt(user: User, files: dict[str, str], **fields: object) -> Submission:
        return SubmissionFactory(
            student=user,
            exercise=exercise,
            cohort=fields.pop("cohort", cohort),
            files=files,
            **{"status": "failed", "score": 1, "max_score": 26, **fields},
        )

    ana, beto, carla = student("Ana"), student("Beto"), student("Carla")
    outsider = student("Olga", into=CohortFactory())
    attempt(ana, current.starter_files, attempt=1)
    ana_latest = attempt(ana, current.solution_files, attempt=2, score=5)
    beto_latest = attempt(beto, current.starter_files, attempt=1, score=2)
    carla_busy = attempt(carla, current.solution_files, attempt=1, status="running", score=None)
    outsider_attempt = attempt(outsider, current.solution_files, attempt=1, cohort=None)

    client.force_login(instructor)
    url = f"/docencia/cohortes/{cohort.pk}/recalificaciones/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"version": newer.pk, "token": str(uuid.uuid4())})
    batch = RegradeBatch.objects.get()
    assert response["Location"] == f"{url}{batch.pk}/"

    ana_new = Submission.objects.get(regrade_of=ana_latest)
    beto_new = Submission.objects.get(regrade_of=beto_latest)
    assert ana_new.grader_version == beto_new.grader_version == newer
    assert (ana_new.status, ana_new.score, ana_new.max_score) == ("passed", 30, 30)
    assert beto_new.status == "failed" and beto_new.max_score == 30
    assert beto_new.score < 30
    # Only the latest own attempt of each student of this cohort; the busy one skipped.
    assert set(batch.submissions.values_list("regrade_of", flat=True)) == {
        ana_latest.pk,
        beto_latest.pk,
    }
    assert batch.skipped == [carla_busy.pk]
    assert not outsider_attempt.regrades.exists()
    # Regrades keep the attempt number and are not new attempts.
    assert ana_new.attempt == 2
    assert Submission.objects.filter(student=ana, regrade_of__isnull=True).count() == 2
    # The earlier results stay.
    ana_latest.refresh_from_db()
    assert (ana_latest.score, ana_latest.grader_version) == (5, current)

    status = client.get(f"{url}{batch.pk}/estado/").json()
    assert (status["done"], status["total"], status["finished"]) == (2, 2, True)
    assert {c["status"]: c["n"] for c in status["counts"]} == {"passed": 1, "failed": 1}
    page = client.get(f"{url}{batch.pk}/").content.decode()
    assert "2 de 2 recalificados" in page and 'aria-live="polite"' in page
    ana_row = re.search(rf'<tr data-regrade="{ana_new.pk}">.*?</tr>', page, re.S).group(0)
    assert "5 / 26" in ana_row and "30 / 30" in ana_row
    assert "Carla" in page  # named among the skipped
    assert "regrade.js" in page
    # The staff's view of the attempt shows both gradings.
    history = client.get(f"/docencia/envios/{ana_latest.pk}/").content.decode()
    assert "5 / 26" in history and "30 / 30" in history
