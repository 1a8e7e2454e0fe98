"""Admins enrol students by CSV (all or nothing) and by an invite link."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.cohorts.models import Enrollment
from taller.cohorts.services import enrollments_import
from tests.factories import CohortFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_csv_with_any_bad_line_imports_nothing_and_says_which_lines() -> None:
    cohort = CohortFactory()
    EnrollmentFactory(cohort=cohort, student=UserFactory(email="ya@ejemplo.com"))
    report = enrollments_import(
        cohort=cohort,
        csv_text=(
            "nombre,email\n"
            "Ana,ana@ejemplo.com\n"
            "Beto,beto-sin-arroba\n"
            "Carla,ana@ejemplo.com\n"
            "Dani,ya@ejemplo.com\n"
            "solo-una-columna\n"
        ),
    )
    assert not report.ok
    problems = {line.line: line.problem for line in report.lines if line.problem}
    assert set(problems) == {3, 4, 5, 6}
    assert "no es un email válido" in problems[3]
    assert "repetido (ya está en la línea 2)" in problems[4]
    assert "ya está inscrito" in problems[5]
    assert "2 columnas" in problems[6]
    assert cohort.enrollments.count() == 1
    assert not User.objects.filter(email="ana@ejemplo.com").exists()


def test_a_csv_line_of_an_account_that_is_not_a_students_imports_nothing() -> None:
    cohort = CohortFactory()
    UserFactory(email="Profe@Ejemplo.com", role=Role.INSTRUCTOR)
    report = enrollments_import(
        cohort=cohort, csv_text="Ana,ana@ejemplo.com\nPepa,profe@ejemplo.com\n"
    )
    assert [(line.line, line.problem) for line in report.lines] == [
        (1, ""),
        (2, "ese email es de una cuenta sin el rol de estudiante"),
    ]
    assert cohort.enrollments.count() == 0


def test_a_good_csv_enrols_everyone_and_makes_accounts_to_activate(client: Client) -> None:
    cohort = CohortFactory()
    existing = UserFactory(email="beto@ejemplo.com")
    client.force_login(UserFactory(role=Role.ADMIN))
    page = client.post(
        f"/docencia/cohortes/{cohort.pk}/",
        {
            "csv_file": SimpleUploadedFile(
                "l.csv", "Ana Pérez,ana@ejemplo.com\nBeto,beto@ejemplo.com\n".encode()
            )
        },
    ).content.decode()
    assert set(cohort.enrollments.values_list("student__email", flat=True)) == {
        "ana@ejemplo.com",
        "beto@ejemplo.com",
    }
    ana = User.objects.get(email="ana@ejemplo.com")
    assert not ana.has_usable_password() and ana.groups.filter(name="student").exists()
    assert Enrollment.objects.get(cohort=cohort, student=existing)
    # The new account's activation link works once: the student chooses a password.
    link = re.search(r"http://testserver(/cuenta/activar/[^<\s]+)", page).group(1)
    anonymous = Client()
    form_page = anonymous.get(link, follow=True)
    assert "Elige tu contraseña" in form_page.content.decode()
    anonymous.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "una-clave-larga-9", "new_password2": "una-clave-larga-9"},
    )
    signed_in = anonymous.post(
        "/entrar/", {"username": ana.username, "password": "una-clave-larga-9"}
    )
    assert signed_in.status_code == 302 and "_auth_user_id" in anonymous.session


def test_only_admins_import_and_instructors_see_only_their_cohorts(client: Client) -> None:
    mine, theirs = CohortFactory(), CohortFactory()
    teacher = UserFactory(role=Role.INSTRUCTOR)
    mine.instructors.add(teacher)
    client.force_login(teacher)
    assert client.get(f"/docencia/cohortes/{mine.pk}/").status_code == 200
    assert client.get(f"/docencia/cohortes/{theirs.pk}/").status_code == 404
    response = client.post(
        f"/docencia/cohortes/{mine.pk}/",
        {"csv_file": SimpleUploadedFile("l.csv", b"Ana,ana@ejemplo.com\n")},
    )
    assert response.status_code == 403
    assert not mine.enrollments.exists()


def test_an_invite_link_signs_a_student_up_into_the_cohort(client: Client, course: None) -> None:
    cohort = CohortFactory()
    admin = Client()
    admin.force_login(UserFactory(role=Role.ADMIN))
    admin.post(f"/docencia/cohortes/{cohort.pk}/", {"rotate_invite": "1"})
    cohort.refresh_from_db()
    assert cohort.invite_code
    response = client.post(
        f"/unirse/{cohort.invite_code}/",
        {
            "first_name": "Lucía",
            "username": "lucia",
            "email": "lucia@ejemplo.com",
            "password1": "otra-clave-larga-7",
            "password2": "otra-clave-larga-7",
        },
    )
    assert response.status_code == 302
    lucia = User.objects.get(username="lucia")
    assert cohort.enrollments.filter(student=lucia).exists()
    assert lucia.groups.filter(name="student").exists()
    # A rotated link stops working.
    old = cohort.invite_code
    admin.post(f"/docencia/cohortes/{cohort.pk}/", {"rotate_invite": "1"})
    assert Client().get(f"/unirse/{old}/").status_code == 404


def test_a_weak_password_or_taken_name_is_refused_on_joining(client: Client) -> None:
    cohort = CohortFactory(invite_code="codigo-de-prueba")
    UserFactory(username="ocupado")
    weak = client.post(
        "/unirse/codigo-de-prueba/",
        {
            "first_name": "X",
            "username": "nuevo",
            "email": "n@e.com",
            "password1": "123",
            "password2": "123",
        },
    )
    assert weak.status_code == 200 and not User.objects.filter(username="nuevo").exists()
    taken = client.post(
        "/unirse/codigo-de-prueba/",
        {
            "first_name": "X",
            "username": "ocupado",
            "email": "o@e.com",
            "password1": "una-clave-larga-9",
            "password2": "una-clave-larga-9",
        },
    )
    assert "Ese nombre de usuario ya existe" in taken.content.decode()
    assert not cohort.enrollments.exists()
