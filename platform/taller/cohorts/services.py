"""Writes for cohorts and enrollments."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.accounts.services import create_user
from taller.cohorts.models import Cohort, Enrollment
from taller.courses.models import Course


@transaction.atomic
def cohort_create(
    *,
    name: str,
    course: Course,
    starts_on: date,
    ends_on: date,
    instructors: Iterable[User] = (),
) -> Cohort:
    cohort = Cohort(name=name, course=course, starts_on=starts_on, ends_on=ends_on)
    cohort.full_clean()
    cohort.save()
    cohort.instructors.set(list(instructors))
    return cohort


def enrollment_create(*, cohort: Cohort, student: User) -> Enrollment:
    enrollment, _ = Enrollment.objects.get_or_create(cohort=cohort, student=student)
    return enrollment


def cohort_invite_rotate(cohort: Cohort) -> str:
    """A fresh invite link; the previous one stops working."""
    cohort.invite_code = secrets.token_urlsafe(16)
    cohort.save(update_fields=["invite_code"])
    return cohort.invite_code


@transaction.atomic
def student_join_by_invite(
    *, code: str, username: str, email: str, password: str, first_name: str = ""
) -> Enrollment:
    cohort = Cohort.objects.filter(invite_code=code).exclude(invite_code="").first()
    if cohort is None:
        raise EnrollmentError("Ese enlace de invitación no es válido o ya no funciona.")
    if User.objects.filter(username__iexact=username).exists():
        raise EnrollmentError("Ese nombre de usuario ya existe.")
    if User.objects.filter(email__iexact=email).exists():
        raise EnrollmentError("Ya hay una cuenta con ese email: entra con ella.")
    student = create_user(
        username=username, password=password, role=Role.STUDENT, email=email, first_name=first_name
    )
    return enrollment_create(cohort=cohort, student=student)


class EnrollmentError(ValueError):
    """An enrollment that cannot be made; the message is for the person trying."""


@dataclass(frozen=True)
class ImportLine:
    line: int
    name: str
    email: str
    problem: str = ""  # empty: fine
    created: bool = False  # a new account (it needs an activation link)
    user_id: int | None = None


@dataclass(frozen=True)
class ImportReport:
    lines: tuple[ImportLine, ...]

    @property
    def ok(self) -> bool:
        return all(not line.problem for line in self.lines)


def enrollments_import(*, cohort: Cohort, csv_text: str) -> ImportReport:
    """Enrol students from a CSV of `nombre,email` lines (a header line is allowed).

    Every line is checked first; any problem (a malformed line, a bad email, a duplicate
    in the file, someone already enrolled) is reported by line and nothing is imported.
    Unknown emails become new student accounts without a password.
    """
    rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
    checked: list[ImportLine] = []
    seen: dict[str, int] = {}
    enrolled = {e.lower() for e in cohort.enrollments.values_list("student__email", flat=True) if e}
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and [c.lower() for c in cells[:2]] in (
            ["nombre", "email"],
            ["name", "email"],
        ):
            continue
        name, email = [*cells, "", ""][:2]
        problem = ""
        if len(cells) != 2:
            problem = f"se esperaban 2 columnas (nombre, email) y hay {len(cells)}"
        elif not name:
            problem = "falta el nombre"
        else:
            try:
                validate_email(email)
            except ValidationError:
                problem = f"«{email}» no es un email válido"
        key = email.lower()
        if not problem and key in seen:
            problem = f"email repetido (ya está en la línea {seen[key]})"
        if not problem and key in enrolled:
            problem = "ya está inscrito en esta cohorte"
        seen.setdefault(key, number)
        checked.append(ImportLine(line=number, name=name, email=email, problem=problem))
    report = ImportReport(tuple(checked))
    if not report.ok or not checked:
        return report
    done: list[ImportLine] = []
    with transaction.atomic():
        for line in checked:
            student = User.objects.filter(email__iexact=line.email).first()
            created = student is None
            if student is None:
                student = create_user(
                    username=_free_username(line.email),
                    password=None,
                    role=Role.STUDENT,
                    email=line.email,
                    first_name=line.name,
                )
            enrollment_create(cohort=cohort, student=student)
            done.append(
                ImportLine(line.line, line.name, line.email, created=created, user_id=student.pk)
            )
    return ImportReport(tuple(done))


def _free_username(email: str) -> str:
    base = email.split("@", 1)[0][:120] or "estudiante"
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}{n}"
    return name
