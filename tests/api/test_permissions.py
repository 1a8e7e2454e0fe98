"""The permission matrix: every API endpoint, every kind of person.

Objects outside what a person may see answer 404 (their existence is not revealed);
endpoints a role may not use at all answer 403; no credentials, 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import URLPattern, get_resolver
from rest_framework.test import APIClient

from tests.api.world import ACTORS, HIDDEN_SECRET, World, files
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

A, SA, SB, I, OI, AD = ACTORS  # noqa: E741

# (name, method, path template, body) -> status per actor, in ACTORS order.
MATRIX: list[tuple[str, str, str, Any, tuple[int, ...]]] = [
    ("me", "get", "/api/v1/me/", None, (401, 200, 200, 200, 200, 200)),
    ("exercise-list", "get", "/api/v1/exercises/", None, (401, 200, 200, 200, 200, 200)),
    (
        "exercise-detail",
        "get",
        "/api/v1/exercises/{slug}/",
        None,
        (401, 200, 200, 200, 200, 200),
    ),
    ("submission-list", "get", "/api/v1/submissions/", None, (401, 200, 200, 200, 200, 200)),
    (
        "submission-list",
        "post",
        "/api/v1/submissions/",
        "submit",
        (401, 202, 202, 202, 202, 202),
    ),
    (
        "submission-detail",
        "get",
        "/api/v1/submissions/{submission}/",
        None,
        (401, 200, 404, 200, 404, 200),
    ),
    (
        "submission-regrade",
        "post",
        "/api/v1/submissions/{submission}/regrade/",
        None,
        (401, 403, 404, 202, 404, 202),
    ),
    ("cohort-list", "get", "/api/v1/cohorts/", None, (401, 403, 403, 200, 200, 200)),
    (
        "cohort-detail",
        "get",
        "/api/v1/cohorts/{cohort}/",
        None,
        (401, 403, 403, 200, 404, 200),
    ),
    (
        "cohort-enrollments",
        "get",
        "/api/v1/cohorts/{cohort}/enrollments/",
        None,
        (401, 403, 403, 200, 404, 200),
    ),
    (
        "cohort-enrollments",
        "post",
        "/api/v1/cohorts/{cohort}/enrollments/",
        {"username": "nuevo"},
        (401, 403, 403, 403, 404, 201),
    ),
    (
        "cohort-gradebook",
        "get",
        "/api/v1/cohorts/{cohort}/gradebook/",
        None,
        (401, 403, 403, 200, 404, 200),
    ),
    (
        "cohort-submissions",
        "get",
        "/api/v1/cohorts/{cohort}/submissions/",
        None,
        (401, 403, 403, 200, 404, 200),
    ),
    (
        "cohort-similarity",
        "get",
        "/api/v1/cohorts/{cohort}/similarity/?exercise={slug}",
        None,
        (401, 403, 403, 200, 404, 200),
    ),
    (
        "cohort-similarity",
        "post",
        "/api/v1/cohorts/{cohort}/similarity/",
        "similarity",
        (401, 403, 403, 202, 404, 200),
    ),
    ("schema", "get", "/api/v1/schema/", None, (200, 200, 200, 200, 200, 200)),
    ("docs", "get", "/api/v1/docs/", None, (200, 200, 200, 200, 200, 200)),
]
# The token endpoints are public by nature (credentials are in the body); test_auth.py.
# "not-found" answers every unknown path under the API with a JSON 404, for anyone.
PUBLIC = {"token-obtain", "token-refresh", "token-verify", "token-logout", "not-found"}


def test_the_matrix_covers_every_api_endpoint() -> None:
    resolver = get_resolver()
    api = next(p for p in resolver.url_patterns if getattr(p, "namespace", None) == "api")
    names = {p.name for p in api.url_patterns if isinstance(p, URLPattern)}
    assert names == {row[0] for row in MATRIX} | PUBLIC


@pytest.mark.parametrize(
    ("method", "template", "body", "expected"),
    [pytest.param(m, t, b, c, id=f"{m} {t}") for (_n, m, t, b, c) in MATRIX],
)
def test_permission_matrix(
    world: World,
    api_as: Callable[[str], APIClient],
    method: str,
    template: str,
    body: Any,
    expected: tuple[int, ...],
) -> None:
    """One row of the matrix: every actor against one endpoint, reported as a whole."""
    UserFactory(username="nuevo")
    path = template.format(
        slug=world.exercise.slug, submission=world.submission.pk, cohort=world.cohort.pk
    )
    if body == "submit":
        body = {"exercise": world.exercise.slug, "files": files()}
    elif body == "similarity":
        body = {"exercise": world.exercise.slug}
    got = {}
    for actor in ACTORS:
        response = getattr(api_as(actor), method)(path, body, format="json")
        got[actor] = response.status_code
        if response.status_code == 401:
            assert response["WWW-Authenticate"].startswith("Bearer")
    assert got == dict(zip(ACTORS, expected, strict=True))


@pytest.mark.parametrize("actor", [SA, SB, I, OI, AD])
def test_a_list_shows_only_ones_own_submissions(
    world: World, api_as: Callable[[str], APIClient], actor: str
) -> None:
    data = api_as(actor).get("/api/v1/submissions/").json()
    owners = {row["student"]["username"] for row in data["results"]}
    assert owners <= {world.users[actor].username}
    assert (world.submission.pk in [r["id"] for r in data["results"]]) == (actor == SA)


@pytest.mark.parametrize(("actor", "sees_hidden"), [(SA, False), (I, True), (AD, True)])
def test_hidden_tests_reach_staff_only(
    world: World, api_as: Callable[[str], APIClient], actor: str, sees_hidden: bool
) -> None:
    response = api_as(actor).get(f"/api/v1/submissions/{world.submission.pk}/")
    assert response.status_code == 200
    assert (HIDDEN_SECRET in response.content.decode()) is sees_hidden
    data = response.json()
    hidden = [t for t in data["tests"] if t["visibility"] == "hidden"]
    assert len(hidden) == 1 and len(data["results"]["tests"]) == 2
    if not sees_hidden:
        assert hidden[0]["name"] == "prueba oculta 2" and hidden[0]["output"] == ""
        assert data["results"]["tests"][1]["output"] == ""
    # The score of a hidden test is no secret: it counts towards the grade.
    assert data["results"]["score"] == 1


def test_the_exercise_never_carries_the_grader_suite(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    version = world.exercise.current_version
    assert version is not None
    version.suite_files = {"test_hidden.py": f"def test_x(): post({HIDDEN_SECRET!r})"}
    version.solution_files = {"server.js": "// la solución"}
    version.save()
    response = api_as(SA).get(f"/api/v1/exercises/{world.exercise.slug}/")
    text = response.content.decode()
    assert HIDDEN_SECRET not in text and "la solución" not in text
    assert set(response.json()) == {
        "slug",
        "title",
        "section",
        "order",
        "language",
        "statement",
        "starter_files",
        "entry_files",
        "limits",
        "grader_version",
    }


def test_an_instructor_lists_only_the_cohorts_they_teach(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    def names(actor: str) -> set[str]:
        return {c["name"] for c in api_as(actor).get("/api/v1/cohorts/").json()["results"]}

    assert names(I) == {"Mañana"}
    assert names(OI) == {"Tarde"}
    assert names(AD) == {"Mañana", "Tarde"}


def test_an_instructor_sees_only_their_cohorts_submissions(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    rows = api_as(I).get(f"/api/v1/cohorts/{world.cohort.pk}/submissions/").json()["results"]
    assert [r["id"] for r in rows] == [world.submission.pk]
    rows = api_as(AD).get(f"/api/v1/cohorts/{world.other_cohort.pk}/submissions/").json()
    assert rows["results"] == []


def test_session_authentication_works_for_the_sites_own_pages(
    world: World,
) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.users[SA])
    assert client.get("/api/v1/me/").json()["username"] == "ana"
    # A session-authenticated write without the CSRF token is refused.
    body = {"exercise": world.exercise.slug, "files": files()}
    assert client.post("/api/v1/submissions/", body, format="json").status_code == 403
