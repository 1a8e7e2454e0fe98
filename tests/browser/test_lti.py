"""Taller launched from an LMS's page in a real browser (Chromium), on the production
stack: the LMS's form posted into its iframe, Taller's cookie check, the OIDC round trip,
the student signed in on the exercise; a solution typed and graded by a real worker, and
its score, late policy applied, arriving at the LMS's line item from the worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from lti_tool.models import LtiDeployment, LtiRegistration
from playwright.sync_api import expect

from taller.cohorts.models import Cohort, CohortExercise
from taller.courses.models import Exercise
from taller.lti.models import ScoreSync
from tests.lti.lms import Launch, Person, TestLMS
from tests.production.stack import wait_until

from .conftest import Shots

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SLUG = "rest-api"
SOLUTION = (REPO / "exercises" / SLUG / "solution" / "server.js").read_text()
ANA = Person("lms-user-ana", "Ana", "Pérez", "ana@uni.example", "Learner")


@pytest.fixture
def lms() -> Iterator[TestLMS]:
    server = TestLMS(host="localhost").start()
    yield server
    server.stop()


def test_launch_from_the_lms_and_the_grade_goes_back(
    live: Any, new_page: Any, shots: Shots, lms: TestLMS
) -> None:
    taller = f"http://localhost:{live.port}"
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
    lms.tool_jwks_url = f"{taller}/lti/jwks.json"
    lms.tool_login_url = f"{taller}/lti/inicio/"
    line_item = lms.add_line_item("Una API REST de tareas con Express", 29)
    hint = lms.prepare(Launch(person=ANA, custom={"taller_exercise": SLUG}, lineitem=line_item))

    # The LMS's course page: the link is a form posted into the page's iframe.
    page = new_page()
    page.goto(f"{lms.url}/course?" + urlencode({"hint": hint, "target": f"{taller}/lti/lanzar/"}))
    page.get_by_role("button", name="Abrir Taller").click()
    tool = page.frame_locator("iframe[name=tool]")
    expect(tool.get_by_role("heading", level=1)).to_have_text(
        "Una API REST de tareas con Express", timeout=30_000
    )
    expect(tool.locator(".user-menu")).to_contain_text("ana-perez-")
    shots(page, "launched inside the lms")

    # The LMS course is now a cohort; its deadline for the exercise was a day and a
    # half ago, at 10 % a day.
    cohort = Cohort.objects.get()
    cohort.starts_on = date.today() - timedelta(days=10)
    cohort.late_penalty_percent_per_day = Decimal("10")
    cohort.late_days_accepted = 3
    cohort.save()
    CohortExercise.objects.create(
        cohort=cohort,
        exercise=Exercise.objects.get(slug=SLUG),
        deadline=timezone.now() - timedelta(hours=36),
    )

    # The reference solution, pasted into the editor inside the frame and submitted.
    tool.locator("[data-editor] .cm-content").first.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(SOLUTION)
    tool.get_by_role("button", name="Enviar", exact=True).click()
    expect(tool.locator("#results")).to_have_attribute("data-status", "passed", timeout=90_000)
    shots(page, "graded inside the lms")

    # The worker sent the gradebook's value: 29 of 29, two started days late: 23.2.
    scores = wait_until(lambda: lms.line_items[line_item].scores, 60, "the score at the LMS")
    (score,) = scores
    assert score["userId"] == ANA.sub
    assert score["scoreMaximum"] == 29.0
    assert score["scoreGiven"] == pytest.approx(23.2)
    assert ScoreSync.objects.get().state == ScoreSync.State.SENT
    assert re.fullmatch(r"ana-perez-[0-9a-f]{6}", ScoreSync.objects.get().student.username)
