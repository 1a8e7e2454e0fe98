from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
import requests
from lti_tool.models import LtiDeployment, LtiRegistration

from taller.courses.models import Exercise
from tests.factories import ExerciseFactory
from tests.lti.lms import TestLMS


@pytest.fixture
def lms() -> Iterator[TestLMS]:
    server = TestLMS().start()
    yield server
    server.stop()


@dataclass
class Taller:
    url: str
    registration: LtiRegistration
    exercise: Exercise

    @property
    def launch_url(self) -> str:
        return f"{self.url}/lti/lanzar/"


@pytest.fixture
def taller(live_server: object, lms: TestLMS) -> Taller:
    """Taller served over HTTP, with the test LMS registered and its deployment active."""
    url = live_server.url  # type: ignore[attr-defined]
    registration = LtiRegistration.objects.create(
        name="Test LMS",
        issuer=lms.issuer,
        client_id=lms.client_id,
        auth_url=f"{lms.url}/auth",
        token_url=f"{lms.url}/token",
        keyset_url=f"{lms.url}/jwks",
    )
    LtiDeployment.objects.create(
        registration=registration, deployment_id=lms.deployment_id, is_active=True
    )
    lms.tool_jwks_url = f"{url}/lti/jwks.json"
    lms.tool_login_url = f"{url}/lti/inicio/"
    exercise = ExerciseFactory(slug="api-rest", title_es="Una API REST")
    return Taller(url=url, registration=registration, exercise=exercise)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            if a.get("type") == "radio":
                fields.setdefault(a["name"] + "[]", []).append(a.get("value"))
            else:
                fields[a["name"]] = a.get("value") or ""


def forms_of(page: str) -> list[dict[str, object]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


class Browser(requests.Session):
    """A browser's part of a launch, over HTTP: it posts the LMS's form to Taller, runs
    what Taller's cookie-check script does (go on with the same parameters), follows
    the redirect to the LMS, and posts the LMS's auto-submitted form back to Taller."""

    def start(self, lms: TestLMS, taller: Taller, hint: str) -> requests.Response:
        params = lms.login_params(hint, taller.launch_url)
        page = self.post(lms.tool_login_url, data=params, allow_redirects=False)
        assert page.status_code == 200, page.text
        found = re.search(
            r'<script id="lti-params" type="application/json">(.*?)</script>', page.text, re.S
        )
        assert found, page.text
        to_lms = self.get(
            lms.tool_login_url, params=json.loads(found.group(1)), allow_redirects=False
        )
        assert to_lms.status_code == 302, to_lms.text
        return self.get(to_lms.headers["Location"])

    def launch(self, lms: TestLMS, taller: Taller, hint: str) -> requests.Response:
        form_page = self.start(lms, taller, hint)
        assert form_page.status_code == 200, form_page.text
        (form,) = forms_of(form_page.text)
        self.last_post = (str(form["action"]), dict(form["fields"]))  # type: ignore[arg-type]
        return self.post(*self.last_post, allow_redirects=False)

    def replay(self) -> requests.Response:
        return self.post(*self.last_post, allow_redirects=False)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with Browser() as session:
        yield session
