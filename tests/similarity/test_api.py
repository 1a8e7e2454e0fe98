"""The similarity report in the API: the same report as the page, for the cohort's staff."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from taller.accounts.models import User
from taller.similarity.models import SimilarityReport
from tests.similarity.cohort import disguise
from tests.similarity.conftest import World
from tests.similarity.solutions import INDEPENDENT

pytestmark = pytest.mark.django_db


def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_staff_ask_for_the_report_and_read_it(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    world.submit("ana", INDEPENDENT[9])
    world.submit("beto", disguise(dict(INDEPENDENT[9]), ("rename", "reorder", "comment"), 8))
    world.submit("carla", INDEPENDENT[10])
    client = api(world.teacher)
    url = f"/api/v1/cohorts/{world.cohort.pk}/similarity/"
    before = client.get(url, {"exercise": world.exercise.slug})
    assert before.status_code == 200
    assert before.json() == {
        "exercise": world.exercise.slug,
        "earlier": False,
        "threshold": 0.5,
        "current": False,
        "report": None,
    }
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(url, {"exercise": world.exercise.slug}, format="json")
    assert asked.status_code == 202
    assert asked.json()["report"]["state"] == "queued"
    data = client.get(url, {"exercise": world.exercise.slug}).json()
    report = data["report"]
    assert data["current"] is True and report["state"] == "done" and report["compared"] == 3
    [pair] = report["pairs"]
    assert {pair["left"]["username"], pair["right"]["username"]} == {"ana", "beto"}
    assert pair["similarity"] > 0.8 and pair["longest_lines"] > 3
    assert pair["fragments"] and {"kgrams", "left", "right"} <= set(pair["fragments"][0])
    assert [sorted(m["username"] for m in c["members"]) for c in report["clusters"]] == [
        ["ana", "beto"]
    ]
    # Nothing changed: the same report, not a second analysis.
    again = client.post(url, {"exercise": world.exercise.slug}, format="json")
    assert again.status_code == 200 and again.json()["report"]["id"] == report["id"]
    assert SimilarityReport.objects.count() == 1
    # A lower threshold shows more pairs, never fewer.
    low = client.get(url, {"exercise": world.exercise.slug, "threshold": 0.1}).json()
    assert len(low["report"]["pairs"]) >= 1 and low["threshold"] == 0.1


def test_bad_queries_are_refused_with_their_reason(world: World) -> None:
    client = api(world.teacher)
    url = f"/api/v1/cohorts/{world.cohort.pk}/similarity/"
    missing = client.get(url)
    assert missing.status_code == 400 and "exercise" in missing.json()
    unknown = client.get(url, {"exercise": "no-existe"})
    assert unknown.status_code == 400
    assert unknown.json()["exercise"] == ["No existe ese ejercicio en el curso del cohorte."]
    english = client.get(url, {"exercise": "no-existe", "lang": "en"})
    assert english.json()["exercise"] == ["No such exercise in the cohort's course."]
    assert client.get(url, {"exercise": world.exercise.slug, "threshold": 2}).status_code == 400
    assert client.post(url, {"exercise": "no-existe"}, format="json").status_code == 400
    assert client.post(url, "no es json", content_type="application/json").status_code == 400
    assert not SimilarityReport.objects.exists()
