"""Writes for cohorts and enrollments."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from taller.accounts.models import User
from taller.accounts.roles import Role, has_role
from taller.accounts.services import create_user
from taller.cohorts.models import Cohort, CohortExercise, Enrollment
from taller.cohorts.selectors import cohort_course_locked
from taller.courses.models import Course, Exercise


@transaction.atomic
def cohort_create(
    *,
    name: str,
    course: Course,
    starts_on: date,
    ends_on: date,
    instructors: Iterable[User] = (),
    late_penalty_percent_per_day: Decimal | None = None,
    late_days_accepted: int | None = None,
) -> Cohort:
    if ends_on < starts_on:
        # The check constraint would refuse it too, but with a message for no one.
        raise ValidationError({"ends_on": [_ends_before_start()]})
    cohort = Cohort(name=name, course=course, starts_on=starts_on, ends_on=ends_on)
    # None keeps the model's default policy (what setup_demo and the API rely on).
    if late_penalty_percent_per_day is not None:
        cohort.late_penalty_percent_per_day = late_penalty_percent_per_day
    if late_days_accepted is not None:
        cohort.late_days_accepted = late_days_accepted
    cohort.full_clean()
    cohort.save()
    cohort.instructors.set(list(instructors))
    return cohort


@transaction.atomic
def cohort_update(
    *,
    cohort: Cohort,
    name: str,
    course: Course,
    starts_on: date,
    ends_on: date,
    late_penalty_percent_per_day: Decimal,
    late_days_accepted: int,
    instructors: Iterable[User],
) -> Cohort:
    """Change a cohort's details and who teaches it (the set given replaces the old one).

    Raises ValidationError, keyed by field, when the dates are reversed, when they would
    leave one of the cohort's deadlines outside them, or when the course would change
    under existing deadlines or submissions (they belong to the old course's exercises).
    """
    cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
    errors: dict[str, list[str]] = {}
    if course.pk != cohort.course_id and cohort_course_locked(cohort):
        errors["course"] = [
            _("La cohorte ya tiene plazos o envíos de este curso: no se puede cambiar de curso.")
        ]
    if ends_on < starts_on:
        errors["ends_on"] = [_ends_before_start()]
    else:
        outside = [
            d
            for d in cohort.deadlines.select_related("exercise").order_by("deadline")
            if not deadline_fits(starts_on=starts_on, ends_on=ends_on, deadline=d.deadline)
        ]
        if outside:
            late = any(_site_day(d.deadline) > ends_on for d in outside)
            errors["ends_on" if late else "starts_on"] = [
                _("Estos plazos quedarían fuera de las fechas: %(list)s. Cámbialos en Plazos.")
                % {"list": ", ".join(_deadline_label(d) for d in outside)}
            ]
    if errors:
        raise ValidationError(errors)
    cohort.name = name
    cohort.course = course
    cohort.starts_on = starts_on
    cohort.ends_on = ends_on
    cohort.late_penalty_percent_per_day = late_penalty_percent_per_day
    cohort.late_days_accepted = late_days_accepted
    cohort.full_clean()
    cohort.save()
    cohort.instructors.set(list(instructors))
    return cohort


def _ends_before_start() -> str:
    return _("La cohorte no puede terminar antes de empezar.")


def _site_day(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def _deadline_label(deadline: CohortExercise) -> str:
    local = timezone.localtime(deadline.deadline, timezone.get_default_timezone())
    return f"{deadline.exercise.slug} ({local:%Y-%m-%d %H:%M})"


def deadline_fits(*, starts_on: date, ends_on: date, deadline: datetime) -> bool:
    """Whether a deadline falls on one of the cohort's days, as the site's clock reads it.

    Cohort dates are calendar days in the site's time zone (settings.TIME_ZONE), so a
    deadline at 23:30 on the last day fits even where that is already tomorrow in UTC.
    """
    return starts_on <= _site_day(deadline) <= ends_on


@transaction.atomic
def cohort_deadlines_set(*, cohort: Cohort, deadlines: Mapping[Exercise, datetime | None]) -> int:
    """Set (a datetime) or remove (None) the cohort's deadline for each exercise given.

    All or nothing: every deadline is checked against the cohort's course and dates
    first, and a ValidationError keyed by exercise slug saves none of them. Exercises not
    given keep their deadline. Returns how many deadlines changed.
    """
    cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
    errors: dict[str, list[str]] = {}
    for exercise, deadline in deadlines.items():
        if exercise.section.course_id != cohort.course_id:
            errors[exercise.slug] = [_("Este ejercicio no es del curso de la cohorte.")]
        elif deadline is not None and not deadline_fits(
            starts_on=cohort.starts_on, ends_on=cohort.ends_on, deadline=deadline
        ):
            errors[exercise.slug] = [deadline_outside_message(cohort)]
    if errors:
        raise ValidationError(errors)
    current = {d.exercise_id: d for d in CohortExercise.objects.filter(cohort=cohort)}
    changed = 0
    for exercise, deadline in deadlines.items():
        existing = current.get(exercise.pk)
        if deadline is None:
            if existing is not None:
                existing.delete()
                changed += 1
        elif existing is None:
            CohortExercise.objects.create(cohort=cohort, exercise=exercise, deadline=deadline)
            changed += 1
        elif existing.deadline != deadline:
            existing.deadline = deadline
            existing.save(update_fields=["deadline"])
            changed += 1
    return changed


def deadline_outside_message(cohort: Cohort) -> str:
    return _("Fuera de las fechas de la cohorte (del %(start)s al %(end)s).") % {
        "start": date_format(cohort.starts_on, "SHORT_DATE_FORMAT"),
        "end": date_format(cohort.ends_on, "SHORT_DATE_FORMAT"),
    }


def enrollment_create(*, cohort: Cohort, student: User) -> Enrollment:
    """Enrol a student (enrolled already: that enrollment). EnrollmentError for an account
    that is not a student's."""
    _require_student(student)
    return _enrol(cohort, student)


def _enrol(cohort: Cohort, student: User) -> Enrollment:
    enrollment, _created = Enrollment.objects.get_or_create(cohort=cohort, student=student)
    return enrollment


@dataclass(frozen=True)
class EnrollmentAdded:
    enrollment: Enrollment
    created_account: bool  # a new account without a password: it needs an activation link


@transaction.atomic
def enrollment_add(*, cohort: Cohort, identifier: str, first_name: str = "") -> EnrollmentAdded:
    """Enrol one person given their username or email.

    An email nobody uses becomes a new student account without a password (like the CSV
    import). Raises EnrollmentError, with a message for the admin, for an unknown username,
    an email shared by several accounts, an account that is not a student's, or someone
    already enrolled.
    """
    identifier = identifier.strip()
    if not identifier:
        raise EnrollmentError(_("Escribe un nombre de usuario o un email."))
    student = User.objects.filter(username__iexact=identifier).first()
    created = False
    if student is None and "@" in identifier:
        matches = list(User.objects.filter(email__iexact=identifier)[:2])
        if len(matches) > 1:
            raise EnrollmentError(
                _("Hay varias cuentas con el email «%(email)s»: usa el nombre de usuario.")
                % {"email": identifier}
            )
        if matches:
            student = matches[0]
        else:
            try:
                validate_email(identifier)
            except ValidationError:
                raise EnrollmentError(
                    _("«%(email)s» no es un email válido.") % {"email": identifier}
                ) from None
            student = create_user(
                username=_free_username(identifier),
                password=None,
                role=Role.STUDENT,
                email=identifier,
                first_name=first_name.strip(),
            )
            created = True
    if student is None:
        raise EnrollmentError(
            _("No hay ningún usuario «%(name)s». Para crear una cuenta nueva escribe su email.")
            % {"name": identifier}
        )
    _require_student(student)
    enrollment, new = Enrollment.objects.get_or_create(cohort=cohort, student=student)
    if not new:
        raise EnrollmentError(
            _("%(who)s ya está inscrito en esta cohorte.") % {"who": _person(student)}
        )
    return EnrollmentAdded(enrollment=enrollment, created_account=created)


def enrollment_remove(*, cohort: Cohort, student: User) -> None:
    """Take a student out of a cohort. Their submissions stay, still marked with the
    cohort, so enrolling them again brings their history back."""
    deleted, _counts = Enrollment.objects.filter(cohort=cohort, student=student).delete()
    if not deleted:
        raise EnrollmentError(
            _("%(who)s no está inscrito en esta cohorte.") % {"who": _person(student)}
        )


def _require_student(user: User) -> None:
    # An instructor or admin enrolled would show among the cohort's students, in its
    # gradebook and reports.
    if not has_role(user, Role.STUDENT):
        raise EnrollmentError(
            _("%(who)s no es estudiante: en una cohorte solo se inscriben estudiantes.")
            % {"who": _person(user)}
        )


def _person(user: User) -> str:
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


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
    in the file, someone already enrolled, an account that is not a student's) is reported
    by line and nothing is imported.
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
    not_students = _emails_of_non_students({line.email for line in checked if not line.problem})
    checked = [
        replace(line, problem="ese email es de una cuenta sin el rol de estudiante")
        if not line.problem and line.email.lower() in not_students
        else line
        for line in checked
    ]
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
            _enrol(cohort, student)  # every account here is a student's: checked above
            done.append(
                ImportLine(line.line, line.name, line.email, created=created, user_id=student.pk)
            )
    return ImportReport(tuple(done))


def _emails_of_non_students(emails: set[str]) -> set[str]:
    """Of these emails, in any case, those of accounts that are not a student's (lower case)."""
    return {
        email.lower()
        for email in User.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in={email.lower() for email in emails})
        .exclude(groups__name=Role.STUDENT.value)
        .values_list("email", flat=True)
    }


def _free_username(email: str) -> str:
    base = email.split("@", 1)[0][:120] or "estudiante"
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}{n}"
    return name
