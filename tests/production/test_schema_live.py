"""schemathesis against a live server (gunicorn with the production settings), from the
committed schema, with a student's token and an instructor's: no server error, and no
status the schema does not declare (issue 18). tests/api/test_fuzz.py runs the same
in process; this is the deployed stack: middleware, ASGI, the real PostgreSQL and Redis.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from taller.accounts.roles import Role
from tests.factories import PASSWORD, CohortFactory, EnrollmentFactory, UserFactory

from .stack import REPO, Stack
from .test_pipeline import course_synced

__all__ = ["course_synced"]

SCHEMA = REPO / "platform" / "taller" / "api" / "openapi.yaml"
OPERATIONS = [
    (method.upper(), path)
    for path, item in yaml.safe_load(SCHEMA.read_text())["paths"].items()
    for method in item
]
EXAMPLES = 6  # per operation, mode and actor: the live round trips are the cost


def _token(port: int, username: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/token/",
        data=json.dumps({"username": username, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json", "Host": "127.0.0.1"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 — loopback
        return str(json.load(response)["access"])


def test_the_live_api_gives_no_server_error_and_no_undeclared_status(
    stack: Stack, course_synced: None
) -> None:
    from taller.courses.models import Course

    student = UserFactory(username="ana")
    instructor = UserFactory(username="ines", role=Role.INSTRUCTOR)
    cohort = CohortFactory(course=Course.objects.get(), name="Mañana")
    cohort.instructors.add(instructor)
    EnrollmentFactory(cohort=cohort, student=student)
    stack.start_web()
    base_url = f"http://127.0.0.1:{stack.port}"
    tokens = {name: _token(stack.port, name) for name in ("ana", "ines")}
    schema = schemathesis.openapi.from_path(SCHEMA)
    failures: list[str] = []
    for method, path in OPERATIONS:
        operation = schema[path][method]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for actor, token in tokens.items():
                failures += _run(operation, mode, base_url, token, f"{actor} {method} {path}")
    assert not failures, "\n\n".join(failures[:10])


def _run(operation: Any, mode: GenerationMode, base_url: str, token: str, label: str) -> list[str]:
    found: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call(base_url=base_url, headers=headers)
        try:
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
        except Exception as exc:  # collected: one report for every operation
            found.append(f"{label}: {exc}\n{case.as_curl_command()}"[:1500])

    check()
    return found


pytestmark = pytest.mark.production
