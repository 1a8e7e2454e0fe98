"""The embedded default (`make run`): grading inside the server process, same code path."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from taller.submissions.models import Submission
from tests.factories import UserFactory

from .conftest import END_TO_END

REPO = Path(__file__).resolve().parents[2]
pytestmark = END_TO_END


@pytest.mark.django_db(transaction=True)
def test_a_submission_is_graded_in_process_and_the_status_url_follows_it(settings) -> None:
    settings.TALLER_GRADING = "inprocess"
    call_command("sync_exercises", verbosity=0)
    client = Client()
    client.force_login(UserFactory())
    code = (REPO / "exercises/rest-api/solution/server.js").read_text()

    answer = client.post(
        "/ejercicios/rest-api/", {"file:server.js": code}, HTTP_ACCEPT="application/json"
    )
    assert answer.status_code == 202
    links = answer.json()
    assert links["ws_path"] == f"/ws/submissions/{links['id']}/"

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot = json.loads(client.get(links["status_url"]).content)
        if snapshot["results"] is not None:
            break
        time.sleep(0.2)
    assert snapshot["status"] == "passed"
    assert len(snapshot["tests"]) == snapshot["test_count"] == 21
    assert Submission.objects.get(pk=links["id"]).worker.startswith("inprocess@")

    # Someone else's status URL is not found, not forbidden: nothing leaks.
    other = Client()
    other.force_login(UserFactory())
    assert other.get(links["status_url"]).status_code == 404


@pytest.mark.django_db
def test_a_second_submission_while_one_runs_answers_429_with_retry_after(course, settings) -> None:
    client = Client()
    client.force_login(UserFactory())
    first = client.post(
        "/ejercicios/rest-api/", {"file:server.js": "x"}, HTTP_ACCEPT="application/json"
    )
    assert first.status_code == 202  # on_commit never fires here: it stays queued
    second = client.post(
        "/ejercicios/rest-api/", {"file:server.js": "y"}, HTTP_ACCEPT="application/json"
    )
    assert second.status_code == 429
    assert int(second["Retry-After"]) > 0
    assert "espera" in second.json()["error"]
    # Without JavaScript: the page itself says so, with the same status.
    page = client.post("/ejercicios/rest-api/", {"file:server.js": "y"})
    assert page.status_code == 429
    assert "Ya tienes una entrega calificándose" in page.content.decode()
