"""One rule for every write endpoint, API and pages (issue 18): whatever hostile body,
headers or file set arrives, the answer is a 4xx that says why, in the request's format
(JSON for the API and for fetch, a page for a form), never a 5xx, and nothing is stored:
no submission, no attempt, no version, no enrolment, no token.

Generated with hypothesis, derandomized: CI runs the same examples every time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from taller.accounts.models import User
from taller.cohorts.models import Cohort, Enrollment
from taller.courses.models import Exercise, GraderVersion
from taller.submissions.models import RegradeBatch, Submission, TestResult
from tests.api.world import World, token_for

pytestmark = pytest.mark.django_db

EXAMPLES = 40  # per endpoint

# What a write could leave behind. Axes' log of failed sign-ins is meant to grow.
WATCHED: tuple[type[Model], ...] = (
    Submission,
    TestResult,
    RegradeBatch,
    GraderVersion,
    Exercise,
    Enrollment,
    Cohort,
    User,
    OutstandingToken,
    BlacklistedToken,
)


def database_state() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in WATCHED)  # type: ignore[attr-defined]


# --- hostile material -----------------------------------------------------------------

HOSTILE_NAMES = st.one_of(
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "../fuera.js",
            "/etc/passwd",
            "a\\b.js",
            "a//b.js",
            "a/./b.js",
            "node_modules/express/index.js",
            "NODE_MODULES/x.js",
            "a" * 300 + ".js",
            "/".join(["c" * 250] * 5),
            "/".join(["d"] * 20),
            "a\x00.js",
            "a\x01.js",
            "a\x7f.js",
            "línea\n.js",
        ]
    ),
    st.builds(
        lambda head, ctl, tail: f"{head}{ctl}{tail}",
        st.text("abc", max_size=5),
        st.characters(max_codepoint=0x1F),
        st.text("xyz.js", max_size=5),
    ),
    st.builds(lambda n: "x" * n, st.integers(256, 2000)),
)
PLAIN_NAMES = st.from_regex(r"[a-z]{1,8}\.js", fullmatch=True)
TEXT = st.text(max_size=200)
FOREIGN_PACKAGE = st.builds(
    lambda module: json.dumps({"dependencies": {module: "1.0.0"}}),
    st.from_regex(r"[a-z]{3,12}-[a-z]{2,8}", fullmatch=True),
)


@st.composite
def hostile_files(draw: st.DrawFn) -> dict[str, str]:
    """A file set with at least one thing the one file rule refuses."""
    files = draw(st.dictionaries(PLAIN_NAMES, TEXT, max_size=4))
    kind = draw(st.sampled_from(["name", "clash", "package", "empty"]))
    if kind == "name":
        files[draw(HOSTILE_NAMES)] = draw(TEXT)
    elif kind == "clash":
        files["a.js"] = "x"
        files["a.js/b.js"] = "y"
    elif kind == "package":
        files["package.json"] = draw(st.one_of(FOREIGN_PACKAGE, st.just("{no es json"), TEXT))
        if (
            files["package.json"].strip().startswith("{")
            and "dependencies" not in files["package.json"]
        ):
            files["package.json"] = "[]"  # a JSON that is not an object
    else:
        files = {}
    return files


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=10,
)
RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(30, 5000)),
    st.builds(lambda n: '{"a":' * n + "1" + "}" * n, st.integers(30, 3000)),
    st.just('{"exercise": "x", "files": '),
    st.just("NaN"),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/xml",
    ]
)


@dataclass
class Case:
    body: Any  # a JSON value, raw bytes, or a form dict
    content_type: str = "application/json"
    accept: str = "application/json"


def json_case(value: Any) -> Case:
    return Case(json.dumps(value))


API_GARBAGE = st.one_of(
    st.builds(json_case, JSON_VALUES),
    st.builds(Case, RAW_BODIES, CONTENT_TYPES),
)


# --- who sends what where -------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    path: Callable[[World], str]
    actor: str  # "anonymous", or a World user sending a bearer token (API) / a session
    cases: st.SearchStrategy[Case]
    page: bool = False  # a form of the site, not the API


def _submission_cases(world: World) -> st.SearchStrategy[Case]:
    return st.one_of(
        API_GARBAGE,
        st.builds(
            lambda files: json_case({"exercise": world.exercise.slug, "files": files}),
            hostile_files(),
        ),
    )


def _not_a_regrade_request(body: str | bytes) -> bool:
    if not body.strip():
        return False
    try:
        return not isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return True


NOT_A_VERSION = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=10_000),
    TEXT.filter(lambda t: not t.strip().isdigit()),
    st.lists(st.integers(), max_size=2),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
)
KNOWN_USERS = {"ana", "beto", "ines", "otto", "adela"}


def endpoints(world: World) -> list[Endpoint]:
    sid, cid = world.submission.pk, world.cohort.pk
    return [
        Endpoint(
            "token",
            lambda w: "/api/v1/auth/token/",
            "anonymous",
            st.one_of(
                API_GARBAGE,
                st.builds(
                    lambda u, p: json_case({"username": u, "password": p}),
                    JSON_VALUES,
                    JSON_VALUES,
                ),
            ),
        ),
        Endpoint("refresh", lambda w: "/api/v1/auth/token/refresh/", "anonymous", API_GARBAGE),
        Endpoint("verify", lambda w: "/api/v1/auth/token/verify/", "anonymous", API_GARBAGE),
        Endpoint("logout", lambda w: "/api/v1/auth/logout/", "student_a", API_GARBAGE),
        Endpoint("submit", lambda w: "/api/v1/submissions/", "student_b", _submission_cases(world)),
        Endpoint(
            "regrade",
            lambda w: f"/api/v1/submissions/{sid}/regrade/",
            "instructor",
            st.one_of(
                st.builds(lambda v: json_case({"grader_version": v}), NOT_A_VERSION),
                # No body, or any JSON object without `grader_version` (other fields are
                # ignored), asks for a regrade with the current version: not hostile.
                st.builds(Case, RAW_BODIES.filter(_not_a_regrade_request), CONTENT_TYPES),
            ),
        ),
        Endpoint(
            "enrol",
            lambda w: f"/api/v1/cohorts/{cid}/enrollments/",
            "admin",
            st.one_of(
                st.builds(
                    lambda u: json_case({"username": u}),
                    st.one_of(JSON_VALUES, TEXT).filter(
                        lambda u: not (isinstance(u, str) and u in KNOWN_USERS)
                    ),
                ),
                st.builds(Case, RAW_BODIES, CONTENT_TYPES),
            ),
        ),
        Endpoint(
            "exercise-page",
            lambda w: f"/ejercicios/{w.exercise.slug}/",
            "student_b",
            st.builds(
                lambda files, fetch, extra: Case(
                    {**{f"file:{k}": v for k, v in files.items()}, **extra},
                    "multipart/form-data",
                    "application/json" if fetch else "text/html",
                ),
                hostile_files(),
                st.booleans(),
                st.one_of(
                    st.just({}),
                    st.builds(lambda n: {f"f{i}": "x" for i in range(n)}, st.integers(1001, 1100)),
                ),
            ),
            page=True,
        ),
        Endpoint(
            "login-page",
            lambda w: "/entrar/",
            "anonymous",
            st.builds(
                lambda u, p: Case(
                    {"username": u, "password": p}, "multipart/form-data", "text/html"
                ),
                TEXT.filter(lambda u: u not in KNOWN_USERS),
                TEXT,
            ),
            page=True,
        ),
        Endpoint(
            "bundle-upload",
            lambda w: "/docencia/",
            "instructor",
            st.builds(
                lambda data, name: Case(
                    {"bundle": SimpleUploadedFile(name, data, "application/zip")},
                    "multipart/form-data",
                    "text/html",
                ),
                st.one_of(
                    st.binary(max_size=500),
                    st.just(b"PK\x03\x04" + b"\x00" * 26),  # a zip header and nothing
                ),
                st.sampled_from(["paquete.zip", "x.zip", "a\x01.zip", "../../x.zip"]),
            ),
            page=True,
        ),
    ]


@pytest.fixture
def clients(world: World) -> Iterator[Callable[[str, bool], Client]]:
    made: dict[str, Client] = {}

    def client_for(actor: str, page: bool) -> Client:
        key = f"{actor}:{page}"
        if key not in made:
            client = Client()
            if actor != "anonymous":
                if page:
                    client.force_login(world.users[actor])
                else:
                    token = token_for(world.users[actor])
                    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            made[key] = client
        return made[key]

    yield client_for


def send(client: Client, path: str, case: Case) -> Any:
    headers = {"Accept": case.accept}
    if case.content_type == "multipart/form-data" and isinstance(case.body, dict):
        return client.post(path, case.body, headers=headers)
    body = case.body if isinstance(case.body, bytes) else str(case.body).encode("utf-8")
    # generic(): the bytes as they are, whatever charset the content type claims.
    return client.generic("POST", path, body, content_type=case.content_type, headers=headers)


def assert_refused_with_a_reason(endpoint: Endpoint, case: Case, response: Any) -> None:
    shown = f"{endpoint.name}: {str(case.body)[:200]!r} -> {response.status_code}"
    assert 400 <= response.status_code < 500, shown + f"\n{response.content[:500]!r}"
    wants_json = not endpoint.page or "application/json" in case.accept
    if wants_json:
        assert response["Content-Type"].startswith("application/json"), shown
        data = response.json()
        reason = data.get("detail") or data.get("error")
        assert isinstance(reason, str) and reason.strip(), shown + f" {data!r}"
    else:
        assert response["Content-Type"].startswith("text/html"), shown
        page = response.content.decode()
        assert any(mark in page for mark in ("errorlist", 'role="alert"', "message error")), (
            shown + " (no reason on the page)"
        )


ENDPOINT_NAMES = [
    "token",
    "refresh",
    "verify",
    "logout",
    "submit",
    "regrade",
    "enrol",
    "exercise-page",
    "login-page",
    "bundle-upload",
]


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_every_hostile_write_is_refused_with_a_reason_and_stores_nothing(
    world: World, clients: Callable[[str, bool], Client], name: str
) -> None:
    endpoint = next(e for e in endpoints(world) if e.name == name)
    path = endpoint.path(world)
    client = clients(endpoint.actor, endpoint.page)
    before = database_state()

    @given(case=endpoint.cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Case) -> None:
        response = send(client, path, case)
        assert_refused_with_a_reason(endpoint, case, response)
        assert database_state() == before, f"{name} stored something for {case!r:.300}"

    check()
