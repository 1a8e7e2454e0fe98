"""factory_boy factories for the platform's models."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from taller.accounts.models import User
from taller.accounts.roles import Role
from taller.accounts.services import ensure_role_groups
from taller.cohorts.models import Cohort, CohortExercise, Enrollment
from taller.courses.models import Course, Exercise, GraderVersion, Section
from taller.submissions.models import Submission, TestResult

PASSWORD = "contraseña-de-prueba"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: Role | None, **kwargs: object) -> None:
        if create:
            role = extracted or Role.STUDENT
            self.groups.add(ensure_role_groups()[role])
            if role is Role.ADMIN:
                self.is_staff = True
                self.save(update_fields=["is_staff"])


class CourseFactory(DjangoModelFactory):
    class Meta:
        model = Course
        django_get_or_create = ("slug",)

    slug = "node-backend"
    title_es = "Integración de Node.js en el backend"
    title_en = "Node.js backend integration"


class SectionFactory(DjangoModelFactory):
    class Meta:
        model = Section

    course = factory.SubFactory(CourseFactory)
    # Clear of the real course's sections 1..8, which tests also load.
    number = factory.Sequence(lambda n: n + 20)
    slug = factory.Sequence(lambda n: f"seccion-{n}")
    title_es = factory.Sequence(lambda n: f"Sección {n}")
    title_en = factory.Sequence(lambda n: f"Section {n}")


class ExerciseFactory(DjangoModelFactory):
    class Meta:
        model = Exercise
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"ejercicio-{n}")
    section = factory.SubFactory(SectionFactory)
    title_es = factory.Sequence(lambda n: f"Ejercicio {n}")
    title_en = factory.Sequence(lambda n: f"Exercise {n}")

    @factory.post_generation
    def version(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and self.current_version is None:
            self.current_version = GraderVersionFactory(exercise=self)
            self.save(update_fields=["current_version"])


class GraderVersionFactory(DjangoModelFactory):
    class Meta:
        model = GraderVersion

    exercise = factory.SubFactory(ExerciseFactory, version=False)
    number = factory.Sequence(lambda n: n + 1)
    content_hash = factory.Sequence(lambda n: f"{n:064x}")
    manifest = factory.LazyFunction(lambda: {"run": {"entry": ["server.js"]}})
    statement_es = "# Enunciado\n\nHaz una API."
    statement_en = "# Statement\n\nBuild an API."
    starter_files = factory.LazyFunction(lambda: {"server.js": "// empieza aquí\n"})


class CohortFactory(DjangoModelFactory):
    class Meta:
        model = Cohort

    name = factory.Sequence(lambda n: f"Cohorte {n}")
    course = factory.SubFactory(CourseFactory)
    starts_on = factory.LazyFunction(date.today)
    ends_on = factory.LazyFunction(lambda: date.today() + timedelta(days=60))


class CohortExerciseFactory(DjangoModelFactory):
    class Meta:
        model = CohortExercise

    cohort = factory.SubFactory(CohortFactory)
    exercise = factory.SubFactory(ExerciseFactory)
    deadline = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class EnrollmentFactory(DjangoModelFactory):
    class Meta:
        model = Enrollment

    cohort = factory.SubFactory(CohortFactory)
    student = factory.SubFactory(UserFactory)


class SubmissionFactory(DjangoModelFactory):
    class Meta:
        model = Submission

    student = factory.SubFactory(UserFactory)
    exercise = factory.SubFactory(ExerciseFactory)
    grader_version = factory.LazyAttribute(lambda s: s.exercise.current_version)
    files = factory.LazyFunction(lambda: {"server.js": "console.log('hola')\n"})
    attempt = factory.Sequence(lambda n: n + 1)


class TestResultFactory(DjangoModelFactory):
    __test__ = False

    class Meta:
        model = TestResult

    submission = factory.SubFactory(SubmissionFactory)
    position = factory.Sequence(lambda n: n)
    number = factory.LazyAttribute(lambda t: str(t.position + 1))
    name = factory.Sequence(lambda n: f"prueba {n}")
    score = 1.0
    max_score = 1.0
    status = "passed"
