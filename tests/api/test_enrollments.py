from __future__ import annotations

from collections.abc import Callable

from rest_framework.test import APIClient

from tests.api.world import World
from tests.factories import UserFactory


def test_an_admin_enrols_a_student_and_is_told_why_not_an_instructor(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    admin = api_as("admin")
    path = f"/api/v1/cohorts/{world.cohort.pk}/enrollments/"
    UserFactory(username="nuevo")

    assert admin.post(path, {"username": "nuevo"}, format="json").status_code == 201
    refused = admin.post(path, {"username": "otto"}, format="json")

    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "otto no es estudiante: en una cohorte solo se inscriben estudiantes."
    )
    enrolled = world.cohort.enrollments.values_list("student__username", flat=True)
    assert sorted(enrolled) == ["ana", "beto", "nuevo"]
