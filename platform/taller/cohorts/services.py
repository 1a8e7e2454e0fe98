"""Writes for cohorts and enrollments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction

from taller.accounts.models import User
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
