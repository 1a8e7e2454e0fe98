"""Admins manage cohorts on pages made for it: create, edit, deadlines, enrol, unenrol."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.cohorts.models import Cohort, CohortExercise, Enrollment
from taller.cohorts.services import cohort_deadlines_set, cohort_update
from taller.submissions.models import Submission
from tests.factories import (
    CohortFactory,
    CourseFactory,
    EnrollmentFactory,
    ExerciseFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@dataclass
class World:
    cohort: Cohort
    teacher: User  # teaches `cohort`
    other_teacher: User  # teaches another cohort only
    student: User  # enrolled in `cohort`
    admin: User

    def client(self, who: str) -> Client:
        client = Client()
        if who != "anonymous":
            client.force_login(getattr(self, who))
        return client


@pytest.fixture
def world() -> World:
    cohort = CohortFactory(name="Primavera", starts_on=date(2026, 3, 1), ends_on=date(2026, 6, 30))
    teacher = UserFactory(username="profe", first_name="Pepa", role=Role.INSTRUCTOR)
    cohort.instructors.add(teacher)
    other_teacher = UserFactory(username="otro-profe", role=Role.INSTRUCTOR)
    CohortFactory(name="Otoño").instructors.add(other_teacher)
    student = UserFactory(username="alumna", email="alumna@ejemplo.com")
    EnrollmentFactory(cohort=cohort, student=student)
    return World(cohort, teacher, other_teacher, student, UserFactory(role=Role.ADMIN))


def _details(cohort: Cohort | None = None, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": cohort.name if cohort else "Verano",
        "course": cohort.course_id if cohort else CourseFactory().pk,
        "starts_on": "2026-07-01",
        "ends_on": "2026-09-30",
        "late_penalty_percent_per_day": "12.5",
        "late_days_accepted": "2",
        "instructors": list(cohort.instructors.values_list("pk", flat=True)) if cohort else [],
    }
    data.update(changes)
    return data


# --- who may do what ---------------------------------------------------------------

ROLES = ["anonymous", "student", "teacher", "other_teacher", "admin"]


def _urls(world: World) -> dict[str, str]:
    c = world.cohort.pk
    return {
        "create": "/docencia/cohortes/nueva/",
        "edit": f"/docencia/cohortes/{c}/editar/",
        "deadlines": f"/docencia/cohortes/{c}/plazos/",
        "enrol": f"/docencia/cohortes/{c}/inscribir/",
        "unenrol": f"/docencia/cohortes/{c}/estudiantes/{world.student.pk}/baja/",
    }


# Status per role, in the order of ROLES. A cohort one may not read answers 404 (as the
# cohort page does); a page one's role may not use, 403. Instructors of the cohort read its
# deadlines but change nothing.
GET_STATUS = {
    "create": [302, 403, 403, 403, 200],
    "edit": [302, 403, 403, 404, 200],
    "deadlines": [302, 403, 200, 404, 200],
    "enrol": [302, 403, 403, 404, 200],
    "unenrol": [302, 403, 403, 404, 200],
}


@pytest.mark.parametrize("page", list(GET_STATUS))
def test_each_page_answers_each_role(world: World, page: str) -> None:
    url = _urls(world)[page]
    for role, expected in zip(ROLES, GET_STATUS[page], strict=True):
        response = world.client(role).get(url)
        assert response.status_code == expected, (page, role)
        if role == "anonymous":
            assert response["Location"].startswith("/entrar/?next=")


@pytest.mark.parametrize("role", ["anonymous", "student", "teacher", "other_teacher"])
def test_only_admins_change_anything(world: World, role: str) -> None:
    exercise = ExerciseFactory()
    newcomer = UserFactory(username="nuevo")
    client = world.client(role)
    urls = _urls(world)
    posts = {
        "create": _details(name="Intrusa"),
        "edit": _details(world.cohort, name="Cambiada", instructors=[world.other_teacher.pk]),
        "deadlines": {f"deadline-{exercise.pk}": "2026-04-01T10:00"},
        "enrol": {"identifier": "nuevo"},
        "unenrol": {},
    }
    for page, data in posts.items():
        status = client.post(urls[page], data).status_code
        assert status in {302, 403, 404}, (page, role)
        if role == "anonymous":
            assert status == 302
    world.cohort.refresh_from_db()
    assert not Cohort.objects.filter(name="Intrusa").exists()
    assert world.cohort.name == "Primavera"
    assert list(world.cohort.instructors.all()) == [world.teacher]
    assert not CohortExercise.objects.exists()
    assert not Enrollment.objects.filter(student=newcomer).exists()
    assert Enrollment.objects.filter(cohort=world.cohort, student=world.student).exists()


def test_the_cohort_pages_link_to_the_new_pages_by_role(world: World) -> None:
    admin, teacher = world.client("admin"), world.client("teacher")
    listing = admin.get("/docencia/cohortes/").content.decode()
    assert 'href="/docencia/cohortes/nueva/"' in listing and "Nueva cohorte" in listing
    assert "Nueva cohorte" not in teacher.get("/docencia/cohortes/").content.decode()

    c = world.cohort.pk
    page = admin.get(f"/docencia/cohortes/{c}/").content.decode()
    assert f'href="/docencia/cohortes/{c}/editar/"' in page
    assert f'href="/docencia/cohortes/{c}/plazos/"' in page
    assert f'action="/docencia/cohortes/{c}/inscribir/"' in page
    assert f'href="/docencia/cohortes/{c}/estudiantes/{world.student.pk}/baja/"' in page
    assert f'href="/admin/cohorts/cohort/{c}/change/"' in page  # the fallback, still there
    assert "Pepa" in page  # who teaches it

    page = teacher.get(f"/docencia/cohortes/{c}/").content.decode()
    assert f'href="/docencia/cohortes/{c}/plazos/"' in page
    for hidden in ("/editar/", "/inscribir/", "/baja/", "/admin/cohorts/"):
        assert hidden not in page


# --- create and edit ----------------------------------------------------------------


def test_an_admin_creates_a_cohort_with_its_policy_and_instructors(world: World) -> None:
    client = world.client("admin")
    form = client.get("/docencia/cohortes/nueva/").content.decode()
    # Only people with the instructor role are offered as instructors.
    assert "profe" in form and "otro-profe" in form and "alumna" not in form
    response = client.post(
        "/docencia/cohortes/nueva/",
        _details(instructors=[world.teacher.pk, world.other_teacher.pk]),
        follow=True,
    )
    cohort = Cohort.objects.get(name="Verano")
    assert response.redirect_chain[-1][0] == f"/docencia/cohortes/{cohort.pk}/"
    assert "Cohorte «Verano» creada." in response.content.decode()
    assert (cohort.starts_on, cohort.ends_on) == (date(2026, 7, 1), date(2026, 9, 30))
    assert cohort.late_penalty_percent_per_day == Decimal("12.5")
    assert cohort.late_days_accepted == 2
    assert set(cohort.instructors.all()) == {world.teacher, world.other_teacher}
    # The new instructor now sees it among their cohorts.
    assert "Verano" in world.client("other_teacher").get("/docencia/cohortes/").content.decode()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"ends_on": "2026-06-30"}, "La cohorte no puede terminar antes de empezar."),
        ({"late_penalty_percent_per_day": "150"}, "menor o igual a 100"),
        ({"late_penalty_percent_per_day": "-1"}, "mayor o igual a 0"),
        ({"late_days_accepted": "-2"}, "mayor o igual a 0"),
        ({"name": ""}, "Este campo es requerido."),
        ({"starts_on": "el lunes"}, "Introduzca una fecha válida."),
    ],
)
def test_a_bad_cohort_form_shows_the_error_and_creates_nothing(
    world: World, changes: dict[str, str], error: str
) -> None:
    response = world.client("admin").post("/docencia/cohortes/nueva/", _details(**changes))
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Cohort.objects.filter(name="Verano").exists()


def test_a_student_cannot_be_slipped_in_as_an_instructor(world: World) -> None:
    response = world.client("admin").post(
        "/docencia/cohortes/nueva/", _details(instructors=[world.student.pk])
    )
    assert response.status_code == 400
    assert "Escoja una opción válida" in response.content.decode()
    assert not Cohort.objects.filter(name="Verano").exists()


def test_an_admin_edits_dates_policy_and_swaps_instructors(world: World) -> None:
    client = world.client("admin")
    form = client.get(f"/docencia/cohortes/{world.cohort.pk}/editar/").content.decode()
    assert 'value="Primavera"' in form and 'value="2026-03-01"' in form
    assert re.search(rf'value="{world.teacher.pk}"[^>]*checked', form)
    response = client.post(
        f"/docencia/cohortes/{world.cohort.pk}/editar/",
        _details(world.cohort, name="Primavera 2026", instructors=[world.other_teacher.pk]),
        follow=True,
    )
    assert "Cambios guardados." in response.content.decode()
    world.cohort.refresh_from_db()
    assert world.cohort.name == "Primavera 2026"
    assert world.cohort.ends_on == date(2026, 9, 30)
    assert list(world.cohort.instructors.all()) == [world.other_teacher]
    # Unassigned, the old instructor no longer reaches the cohort; the new one does.
    assert world.client("teacher").get(f"/docencia/cohortes/{world.cohort.pk}/").status_code == 404
    assert (
        world.client("other_teacher").get(f"/docencia/cohortes/{world.cohort.pk}/").status_code
        == 200
    )


def test_an_instructor_who_lost_the_role_is_shown_and_can_be_unticked(world: World) -> None:
    world.teacher.groups.clear()
    form = world.client("admin").get(f"/docencia/cohortes/{world.cohort.pk}/editar/")
    assert "sin rol de docente" in form.content.decode()
    world.client("admin").post(
        f"/docencia/cohortes/{world.cohort.pk}/editar/", _details(world.cohort)
    )
    assert list(world.cohort.instructors.all()) == [world.teacher]  # kept unless unticked


def test_editing_dates_refuses_to_strand_a_deadline_and_saves_nothing(world: World) -> None:
    exercise = ExerciseFactory(slug="api-rest")
    CohortExercise.objects.create(
        cohort=world.cohort, exercise=exercise, deadline=datetime(2026, 6, 20, 12, tzinfo=UTC)
    )
    response = world.client("admin").post(
        f"/docencia/cohortes/{world.cohort.pk}/editar/",
        _details(world.cohort, name="Otra", starts_on="2026-03-01", ends_on="2026-05-31"),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Estos plazos quedarían fuera de las fechas: api-rest (2026-06-20 12:00)" in page
    world.cohort.refresh_from_db()
    assert (world.cohort.name, world.cohort.ends_on) == ("Primavera", date(2026, 6, 30))


def test_a_cohort_with_submissions_keeps_its_course(world: World) -> None:
    SubmissionFactory(student=world.student, cohort=world.cohort)
    original = world.cohort.course
    other = CourseFactory(slug="otro-curso", title_es="Otro curso")
    client = world.client("admin")
    form = client.get(f"/docencia/cohortes/{world.cohort.pk}/editar/").content.decode()
    assert "su curso no cambia" in form
    client.post(
        f"/docencia/cohortes/{world.cohort.pk}/editar/",
        _details(world.cohort, course=other.pk),
    )
    world.cohort.refresh_from_db()
    assert world.cohort.course == original


# --- deadlines ----------------------------------------------------------------------


@pytest.fixture
def madrid(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Madrid"


def test_deadlines_are_entered_and_shown_in_the_sites_time_zone(world: World, madrid: None) -> None:
    first, second = ExerciseFactory(title_es="Rutas"), ExerciseFactory(title_es="Middleware")
    hidden = ExerciseFactory(title_es="Borrador", is_published=False)
    url = f"/docencia/cohortes/{world.cohort.pk}/plazos/"
    client = world.client("admin")
    page = client.get(url).content.decode()
    assert "Rutas" in page and "Middleware" in page and "Borrador" not in page
    assert "Europe/Madrid" in page
    response = client.post(
        url,
        {f"deadline-{first.pk}": "2026-04-10T23:30", f"deadline-{second.pk}": ""},
        follow=True,
    )
    assert "Plazos guardados (1 cambio)." in response.content.decode()
    saved = CohortExercise.objects.get(cohort=world.cohort)
    assert saved.exercise == first
    # 23:30 in Madrid (summer time, UTC+2) is 21:30 UTC.
    assert saved.deadline == datetime(2026, 4, 10, 21, 30, tzinfo=UTC)
    assert 'value="2026-04-10T23:30"' in response.content.decode()
    assert not CohortExercise.objects.filter(exercise__in=[second, hidden]).exists()

    # The cohort's instructor reads them, in the same zone, without a form to change them.
    page = world.client("teacher").get(url).content.decode()
    assert "10/04/2026 23:30" in page
    assert "datetime-local" not in page

    # Emptying a row removes that deadline.
    client.post(url, {f"deadline-{first.pk}": "", f"deadline-{second.pk}": ""})
    assert not CohortExercise.objects.exists()


def test_the_last_evening_of_the_cohort_is_still_inside_it(world: World, madrid: None) -> None:
    # Cohort dates are the site's calendar days: 1 July 00:30 in Madrid is still 30 June
    # (22:30) in UTC, yet it is after the cohort's last day as the site reads it.
    exercise = ExerciseFactory()
    url = f"/docencia/cohortes/{world.cohort.pk}/plazos/"
    client = world.client("admin")
    assert client.post(url, {f"deadline-{exercise.pk}": "2026-06-30T23:59"}).status_code == 302
    refused = client.post(url, {f"deadline-{exercise.pk}": "2026-07-01T00:30"})
    assert refused.status_code == 400
    assert CohortExercise.objects.get().deadline == datetime(2026, 6, 30, 21, 59, tzinfo=UTC)


def test_a_time_the_clocks_skip_is_a_form_error_not_a_crash(world: World, madrid: None) -> None:
    exercise = ExerciseFactory()
    # Spain jumps from 02:00 to 03:00 on 29 March 2026: 02:30 never happens there.
    response = world.client("admin").post(
        f"/docencia/cohortes/{world.cohort.pk}/plazos/",
        {f"deadline-{exercise.pk}": "2026-03-29T02:30"},
    )
    assert response.status_code == 400
    assert "no pudo ser interpretado en la zona horaria Europe/Madrid" in response.content.decode()
    assert not CohortExercise.objects.exists()


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("2026-02-27T10:00", "Fuera de las fechas de la cohorte (del 01/03/2026 al 30/06/2026)."),
        ("2026-07-01T09:00", "Fuera de las fechas de la cohorte"),
        ("pasado mañana", "Introduzca una fecha/hora válida."),
    ],
)
def test_one_bad_deadline_saves_none_of_them(world: World, bad: str, error: str) -> None:
    first, second, third = ExerciseFactory(), ExerciseFactory(), ExerciseFactory()
    before = datetime(2026, 5, 1, 9, tzinfo=UTC)
    CohortExercise.objects.create(cohort=world.cohort, exercise=third, deadline=before)
    response = world.client("admin").post(
        f"/docencia/cohortes/{world.cohort.pk}/plazos/",
        {
            f"deadline-{first.pk}": "2026-04-01T10:00",
            f"deadline-{second.pk}": bad,
            f"deadline-{third.pk}": "",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "No se guardó nada" in page and error in page
    # The good rows are shown as typed, so the admin fixes one row and saves again.
    assert 'value="2026-04-01T10:00"' in page
    assert list(CohortExercise.objects.values_list("exercise_id", "deadline")) == [
        (third.pk, before)
    ]


def test_only_exercises_of_the_cohorts_course_are_offered(world: World) -> None:
    mine = ExerciseFactory(title_es="Del curso")
    elsewhere = CourseFactory(slug="otro-curso", title_es="Otro")
    foreign = ExerciseFactory(title_es="De otro curso", section__course=elsewhere)
    client = world.client("admin")
    page = client.get(f"/docencia/cohortes/{world.cohort.pk}/plazos/").content.decode()
    assert "Del curso" in page and "De otro curso" not in page
    client.post(
        f"/docencia/cohortes/{world.cohort.pk}/plazos/",
        {f"deadline-{mine.pk}": "2026-04-01T10:00", f"deadline-{foreign.pk}": "2026-04-01T10:00"},
    )
    assert list(CohortExercise.objects.values_list("exercise_id", flat=True)) == [mine.pk]


# --- enrol and unenrol --------------------------------------------------------------


def _enrol(world: World, identifier: str, first_name: str = "") -> tuple[int, str]:
    response = world.client("admin").post(
        f"/docencia/cohortes/{world.cohort.pk}/inscribir/",
        {"identifier": identifier, "first_name": first_name},
        follow=True,
    )
    return response.status_code, response.content.decode()


def test_an_existing_user_is_enrolled_by_username_or_email(world: World) -> None:
    UserFactory(username="beto", email="beto@ejemplo.com")
    UserFactory(username="carla", email="Carla@Ejemplo.com")
    status, page = _enrol(world, "beto")
    assert status == 200 and "beto inscrito." in page
    status, page = _enrol(world, "  carla@ejemplo.com ")
    assert status == 200 and "carla inscrito." in page
    assert set(world.cohort.enrollments.values_list("student__username", flat=True)) == {
        "alumna",
        "beto",
        "carla",
    }
    assert User.objects.count() == 6  # nobody new


@pytest.mark.parametrize(
    ("identifier", "error"),
    [
        ("alumna", "alumna ya está inscrito en esta cohorte."),
        ("ALUMNA@ejemplo.com", "alumna ya está inscrito en esta cohorte."),
        ("fantasma", "No hay ningún usuario «fantasma». Para crear una cuenta nueva"),
        # An instructor would show among the cohort's students, in its gradebook.
        ("otro-profe", "otro-profe no es estudiante: en una cohorte solo se inscriben"),
        ("a@b@c", "«a@b@c» no es un email válido."),
        ("", "Este campo es requerido."),
    ],
)
def test_an_enrolment_that_cannot_be_made_says_why(
    world: World, identifier: str, error: str
) -> None:
    users = User.objects.count()
    status, page = _enrol(world, identifier)
    assert status == 400
    assert error in page
    assert world.cohort.enrollments.count() == 1 and User.objects.count() == users


def test_an_email_shared_by_two_accounts_asks_for_the_username(world: World) -> None:
    UserFactory(username="gemelo1", email="mismo@ejemplo.com")
    UserFactory(username="gemelo2", email="MISMO@ejemplo.com")
    status, page = _enrol(world, "mismo@ejemplo.com")
    assert status == 400 and "usa el nombre de usuario" in page
    assert world.cohort.enrollments.count() == 1


def test_an_unknown_email_gets_a_new_account_and_an_activation_link(world: World) -> None:
    status, page = _enrol(world, "dani@ejemplo.com", first_name="Dani")
    assert status == 200
    dani = User.objects.get(email="dani@ejemplo.com")
    assert dani.username == "dani" and dani.first_name == "Dani"
    assert not dani.has_usable_password() and dani.groups.filter(name="student").exists()
    assert world.cohort.enrollments.filter(student=dani).exists()
    link = re.search(r"http://testserver(/cuenta/activar/[^<\s]+)", page)
    assert link, page
    chosen = Client().get(link.group(1), follow=True)
    assert "Elige tu contraseña" in chosen.content.decode()


def test_unenrolling_asks_first_and_keeps_the_submissions(world: World) -> None:
    kept = SubmissionFactory(student=world.student, cohort=world.cohort)
    url = f"/docencia/cohortes/{world.cohort.pk}/estudiantes/{world.student.pk}/baja/"
    client = world.client("admin")
    confirm = client.get(url).content.decode()
    assert "¿Sacar a alumna (alumna) de Primavera?" in confirm
    assert "Sus envíos se conservan" in confirm
    assert world.cohort.enrollments.exists()  # asking changes nothing
    response = client.post(url, follow=True)
    assert "alumna ya no está en la cohorte; sus envíos se conservan." in response.content.decode()
    assert not world.cohort.enrollments.exists()
    assert Submission.objects.get(pk=kept.pk).cohort == world.cohort
    assert User.objects.filter(pk=world.student.pk, is_active=True).exists()
    # Someone not enrolled (any more) is not found.
    assert client.post(url).status_code == 404
    # Enrolling again brings them back, history and all.
    _enrol(world, "alumna")
    assert world.cohort.enrollments.filter(student=world.student).exists()


def test_exercises_are_listed_in_course_order(world: World) -> None:
    later = ExerciseFactory(title_es="Segundo", section__number=901)
    earlier = ExerciseFactory(title_es="Primero", section__number=900)
    page = world.client("admin").get(f"/docencia/cohortes/{world.cohort.pk}/plazos/")
    text = page.content.decode()
    assert text.index(earlier.title_es) < text.index(later.title_es)


def test_the_pages_speak_english_too(world: World) -> None:
    exercise = ExerciseFactory()
    client = world.client("admin")
    client.post("/i18n/setlang/", {"language": "en", "next": "/docencia/cohortes/"})
    assert "New cohort" in client.get("/docencia/cohortes/").content.decode()
    page = client.post(
        f"/docencia/cohortes/{world.cohort.pk}/plazos/",
        {f"deadline-{exercise.pk}": "2027-01-01T10:00"},
    ).content.decode()
    assert "Deadlines of Primavera" in page
    assert "Nothing was saved: fix the marked rows." in page
    assert "Outside the cohort&#x27;s dates" in page


def test_the_services_hold_the_rules_without_the_forms(world: World) -> None:
    # The pages never offer these; the services refuse them anyway, saving nothing.
    mine = ExerciseFactory()
    foreign = ExerciseFactory(section__course=CourseFactory(slug="otro-curso", title_es="Otro"))
    with pytest.raises(ValidationError) as refused:
        cohort_deadlines_set(
            cohort=world.cohort,
            deadlines={
                mine: datetime(2026, 4, 1, tzinfo=UTC),
                foreign: datetime(2026, 4, 1, tzinfo=UTC),
            },
        )
    assert list(refused.value.message_dict) == [foreign.slug]
    assert not CohortExercise.objects.exists()

    SubmissionFactory(student=world.student, cohort=world.cohort)
    with pytest.raises(ValidationError) as refused:
        cohort_update(
            cohort=world.cohort,
            name="Primavera",
            course=foreign.section.course,
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 6, 30),
            late_penalty_percent_per_day=Decimal("10"),
            late_days_accepted=3,
            instructors=[],
        )
    assert list(refused.value.message_dict) == ["course"]
    world.cohort.refresh_from_db()
    assert world.cohort.course != foreign.section.course
    assert list(world.cohort.instructors.all()) == [world.teacher]
