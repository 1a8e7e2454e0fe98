from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client

from taller.accounts.roles import Role
from tests.factories import CohortFactory, EnrollmentFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_model_has_an_admin_page_an_admin_can_open(client: Client, course: None) -> None:
    SubmissionFactory()
    EnrollmentFactory(cohort=CohortFactory())
    client.force_login(UserFactory(role=Role.ADMIN, is_superuser=True))
    ours = [
        m
        for m in admin.site._registry
        if m._meta.app_label in {"accounts", "courses", "cohorts", "submissions"}
    ]
    assert {m.__name__ for m in ours} >= {
        "User",
        "Course",
        "Section",
        "Exercise",
        "GraderVersion",
        "Cohort",
        "Enrollment",
        "Submission",
        "TestResult",
        "CohortExercise",
    }
    for model in ours:
        opts = model._meta
        changelist = client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert changelist.status_code == 200, opts.label
        first = model._default_manager.first()
        if first is not None:
            change = client.get(f"/admin/{opts.app_label}/{opts.model_name}/{first.pk}/change/")
            assert change.status_code == 200, opts.label


def test_students_cannot_open_the_admin(client: Client) -> None:
    client.force_login(UserFactory(role=Role.STUDENT))
    assert client.get("/admin/").status_code == 302
