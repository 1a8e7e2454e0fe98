"""Issue 18's probes on the API, each answered as the schema says: JSON with a reason."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.test import APIClient

from taller.submissions.models import Submission
from tests.api.world import World
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NESTED = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/submissions/"])
def test_deeply_nested_json_is_a_400_that_says_why(
    world: World, api_as: Callable[[str], APIClient], path: str
) -> None:
    client = api_as("student_b")
    response = client.post(path, NESTED, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "anida" in response.json()["detail"]
    # Deep but within what Python's decoder survives: refused all the same.
    body = '{"exercise": "x", "files": ' + "[" * 200 + "]" * 200 + "}"
    assert client.post(path, body, content_type="application/json").status_code == 400
    assert not Submission.objects.filter(student=world.users["student_b"]).exists()


@pytest.mark.parametrize("size", [2_300_000, 3_000_000, 20_000_000])
def test_an_oversized_body_is_a_json_413_whatever_its_size(
    world: World, api_as: Callable[[str], APIClient], size: int
) -> None:
    body = '{"exercise": "x", "files": {"a.js": "' + "x" * size + '"}}'
    for path in ("/api/v1/auth/token/", "/api/v1/submissions/"):
        response = api_as("student_b").post(path, body, content_type="application/json")
        assert response.status_code == 413, (path, response.content[:200])
        assert response["Content-Type"] == "application/json"
        assert "bytes" in response.json()["detail"]


def test_validation_errors_carry_a_detail_beside_the_fields(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    response = api_as("student_b").post("/api/v1/submissions/", {"files": {"a.js": ""}})
    assert response.status_code == 400
    data = response.json()
    assert data["detail"].startswith("exercise:") and data["exercise"]


def test_the_token_endpoint_answers_429_with_retry_after_once_locked_out(settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="ana")
    client = APIClient()
    wrong = {"username": "ana", "password": "mal"}
    for _ in range(2):
        assert client.post("/api/v1/auth/token/", wrong, format="json").status_code == 401
    # The failure that reaches the limit is already answered as a lockout, as on the form.
    assert client.post("/api/v1/auth/token/", wrong, format="json").status_code == 429
    right = {"username": "ana", "password": PASSWORD}
    response = client.post("/api/v1/auth/token/", right, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60 == response.json()["retry_after"]
    assert "access" not in response.json() and "Demasiados intentos" in response.json()["detail"]
    # The form answers the same person the same way.
    form = Client().post("/entrar/", {"username": "ana", "password": PASSWORD})
    assert form.status_code == 429


def test_an_unknown_language_is_refused(world: World, api_as: Callable[[str], APIClient]) -> None:
    client = api_as("student_a")
    for path in ("/api/v1/exercises/", f"/api/v1/exercises/{world.exercise.slug}/"):
        response = client.get(path, {"lang": "AAA"})
        assert response.status_code == 400
        assert "AAA" in response.json()["detail"]
        assert client.get(path, {"lang": "en"}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/submissions/1234567890123456789012/",
        "/api/v1/cohorts/99999999999999999999/gradebook/",
        "/api/v1/nope/",
    ],
)
def test_paths_beyond_the_api_answer_a_json_404(
    world: World, api_as: Callable[[str], APIClient], path: str
) -> None:
    response = api_as("student_a").get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "named", "reason"),
    [
        ({"a" * 300 + ".js": "x"}, "aaaa", "demasiado largo"),
        ({"/".join(["c" * 250] * 5) + ".js": "x"}, "cccc", "bytes"),
        ({"a\x01.js": "x"}, "a\\x01.js", "carácter de control"),
        ({".": "x"}, "'.'", "«.»"),
        ({"node_modules/express/index.js": "x"}, "node_modules/express", "node_modules"),
        ({"a.js": "x", "a.js/b.js": "y"}, "a.js", "a la vez archivo y carpeta"),
        (
            {"server.js": "x", "package.json": '{"dependencies": {"left-pad": "1"}}'},
            "package.json",
            "left-pad",
        ),
        ({"package.json": "{no es json"}, "package.json", "JSON"),
        ({"a\\b.js": "x"}, "a\\\\b.js", "«/»"),
    ],
)
def test_file_names_the_sandbox_refuses_are_refused_before_anything_is_stored(
    world: World,
    api_as: Callable[[str], APIClient],
    payload: dict[str, str],
    named: str,
    reason: str,
) -> None:
    client = api_as("student_b")
    response = client.post(
        "/api/v1/submissions/", {"exercise": world.exercise.slug, "files": payload}
    )
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert named in detail and reason in detail, detail
    assert not Submission.objects.filter(student=world.users["student_b"]).exists()
    # No attempt spent: the next valid submission is attempt 1.
    ok = client.post(
        "/api/v1/submissions/", {"exercise": world.exercise.slug, "files": {"server.js": "x"}}
    )
    assert ok.status_code == 202 and ok.json()["attempt"] == 1


def test_a_package_json_naming_only_shared_modules_is_accepted(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    files = {"server.js": "x", "package.json": '{"dependencies": {"express": "^5"}}'}
    response = api_as("student_b").post(
        "/api/v1/submissions/", {"exercise": world.exercise.slug, "files": files}
    )
    assert response.status_code == 202, response.content


def test_the_schema_declares_the_refusals_the_api_gives(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    import yaml

    from tests.conftest import REPO

    paths = yaml.safe_load((REPO / "platform/taller/api/openapi.yaml").read_text())["paths"]

    def declared(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"401", "403"} <= declared("/api/v1/cohorts/", "get")
    assert {"401", "403", "404"} <= declared("/api/v1/cohorts/{cohort_id}/gradebook/", "get")
    assert {"400", "401", "413", "429"} <= declared("/api/v1/auth/token/", "post")
    assert {"400", "401"} <= declared("/api/v1/auth/token/refresh/", "post")
    assert {"400", "404"} <= declared("/api/v1/submissions/", "get")
    assert "400" in declared("/api/v1/exercises/", "get")
    # And the API gives them.
    assert api_as("student_a").get("/api/v1/cohorts/").status_code == 403
    assert api_as("student_a").get("/api/v1/submissions/", {"page": 99}).status_code == 404
