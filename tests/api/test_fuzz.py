"""schemathesis against the committed schema, in process, authenticated as a student:
whatever it generates (valid or not), the API never answers 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
import yaml
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.api.world import World, token_for
from tests.conftest import REPO

SCHEMA = REPO / "platform" / "taller" / "api" / "openapi.yaml"
OPERATIONS = [
    (method.upper(), path)
    for path, item in yaml.safe_load(SCHEMA.read_text())["paths"].items()
    for method in item
]
EXAMPLES = 10  # per operation and mode: the whole file stays well under a minute


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """Requests served in process share the test's connection and transaction; Django
    would close it at the end of each request, as its own test client prevents too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _run(
    world: World, method: str, path: str, mode: GenerationMode, actor: str, pinned: bool
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {token_for(world.users[actor])}"}
    # Pinned: the path names real objects, so bodies and queries reach the code behind.
    real = {"cohort_id": world.cohort.pk, "submission_id": world.submission.pk}
    path_parameters = {k: v for k, v in real.items() if "{" + k + "}" in path} if pinned else None

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same inputs on every run: CI fails or passes, not flakes
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}\n"
            f"{case.as_curl_command()}\n{response.text[:500]}"
        )

    check()


@pytest.mark.usefixtures("in_test_transaction")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_generated_request_gets_a_server_error(
    world: World, method: str, path: str, mode: GenerationMode
) -> None:
    """As a student, with whatever ids the generator picks."""
    _run(world, method, path, mode, "student_a", pinned=False)


STAFF_OPERATIONS = [(m, p) for m, p in OPERATIONS if "{" in p]


@pytest.mark.usefixtures("in_test_transaction")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    ("method", "path"), STAFF_OPERATIONS, ids=[f"{m} {p}" for m, p in STAFF_OPERATIONS]
)
def test_no_server_error_for_an_admin_on_real_objects(
    world: World, method: str, path: str, mode: GenerationMode
) -> None:
    """As an admin, on the world's cohort and submission: past the permission checks."""
    _run(world, method, path, mode, "admin", pinned=True)
