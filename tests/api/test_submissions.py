"""Submissions over the API: the files map, limits, rate limit, filters, pagination,
regrades; exercises in the requested language; the gradebook."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from taller.courses.models import Exercise
from taller.submissions.models import Submission
from tests.api.world import World, files
from tests.factories import ExerciseFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


def submit(client: APIClient, slug: str, payload: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/submissions/", {"exercise": slug, "files": payload})


def test_a_submission_is_stored_queued_with_its_files(
    world: World, api_as: Callable[[str], APIClient], django_capture_on_commit_callbacks
) -> None:
    client = api_as("student_b")
    code = "  // espacios al principio y al final se conservan  \n"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = submit(client, world.exercise.slug, {"server.js": code})
    assert response.status_code == 202, response.content
    data = response.json()
    assert len(callbacks) == 1  # grading is queued once the transaction commits
    submission = Submission.objects.get(pk=data["id"])
    assert submission.files == {"server.js": code}
    assert submission.student == world.users["student_b"] and submission.cohort == world.cohort
    assert data["status"] == "queued" and data["attempt"] == 1
    assert data["ws_path"] == f"/ws/submissions/{submission.pk}/"
    assert response["Location"] == data["url"] == f"/api/v1/submissions/{submission.pk}/"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "no tiene archivos"),
        ({f"f{i}.js": "" for i in range(21)}, "Demasiados archivos: 21 (máximo 20)"),
        ({"server.js": "x" * (256 * 1024 + 1)}, "más que el máximo de 262144"),
        ({"../fuera.js": "x"}, "Nombre de archivo no permitido"),
        ({"/etc/passwd": "x"}, "Nombre de archivo no permitido"),
    ],
)
def test_files_the_service_refuses_get_400_with_its_message(
    world: World, api_as: Callable[[str], APIClient], payload: dict[str, str], message: str
) -> None:
    response = submit(api_as("student_b"), world.exercise.slug, payload)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Submission.objects.filter(student=world.users["student_b"]).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"exercise": "x", "files": ["server.js"]},
        {"exercise": "x", "files": {"server.js": 3}},
        {"exercise": "x", "files": {"server.js": "a\x00b"}},
        {"files": {"server.js": ""}},
        [],
    ],
)
def test_malformed_bodies_get_400(
    world: World, api_as: Callable[[str], APIClient], body: object
) -> None:
    assert api_as("student_b").post("/api/v1/submissions/", body).status_code == 400


def test_an_unknown_exercise_is_404(world: World, api_as: Callable[[str], APIClient]) -> None:
    response = submit(api_as("student_b"), "no-existe", files())
    assert response.status_code == 404
    assert response.json()["detail"] == "No existe ese ejercicio."


def test_a_request_beyond_the_size_bound_gets_413(
    world: World, api_as: Callable[[str], APIClient], settings
) -> None:
    settings.TALLER_API_MAX_REQUEST_BYTES = 10_000
    response = submit(api_as("student_b"), world.exercise.slug, {"server.js": "x" * 20_000})
    assert response.status_code == 413
    assert "más de 10000 bytes" in response.json()["detail"]


def test_the_rate_limit_answers_429_with_retry_after(
    world: World, api_as: Callable[[str], APIClient], settings
) -> None:
    settings.TALLER_MAX_IN_FLIGHT = 10
    settings.TALLER_SUBMISSIONS_PER_MINUTE = 2
    client = api_as("student_b")
    assert submit(client, world.exercise.slug, files()).status_code == 202
    assert submit(client, world.exercise.slug, files()).status_code == 202
    response = submit(client, world.exercise.slug, files())
    assert response.status_code == 429
    retry = int(response["Retry-After"])
    assert 1 <= retry <= 60 and response.json()["retry_after"] == retry
    assert "Demasiadas entregas" in response.json()["detail"]


def test_one_run_in_flight_answers_429(world: World, api_as: Callable[[str], APIClient]) -> None:
    client = api_as("student_b")
    assert submit(client, world.exercise.slug, files()).status_code == 202
    response = submit(client, world.exercise.slug, files())
    assert response.status_code == 429 and response["Retry-After"] == "5"


def test_filters_and_pagination(world: World, api_as: Callable[[str], APIClient]) -> None:
    other = ExerciseFactory()
    student = world.users["student_a"]
    for _ in range(3):
        SubmissionFactory(student=student, exercise=other, status="passed")
    client = api_as("student_a")
    page = client.get("/api/v1/submissions/", {"page_size": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    by_exercise = client.get("/api/v1/submissions/", {"exercise": other.slug}).json()
    assert by_exercise["count"] == 3
    failed = client.get("/api/v1/submissions/", {"status": "failed"}).json()
    assert [r["id"] for r in failed["results"]] == [world.submission.pk]
    assert client.get("/api/v1/submissions/", {"status": "nope"}).status_code == 400
    assert client.get("/api/v1/submissions/", {"page": 99}).status_code == 404


def test_an_exercise_in_the_requested_language(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    client = api_as("student_a")
    slug = world.exercise.slug
    spanish = client.get(f"/api/v1/exercises/{slug}/").json()
    assert spanish["title"] == "Tareas con Express" and spanish["language"] == "es"
    assert spanish["statement"].startswith("# Enunciado")
    assert spanish["starter_files"] == {"server.js": "// empieza aquí\n"}
    english = client.get(f"/api/v1/exercises/{slug}/", {"lang": "en"})
    assert english.json()["title"] == "Tasks with Express"
    assert english.json()["statement"].startswith("# Statement")
    assert english["Content-Language"] == "en"
    by_header = client.get("/api/v1/exercises/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9,es;q=0.5")
    assert by_header.json()[0]["title"] == "Tasks with Express"


def test_unpublished_exercises_are_not_listed(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    hidden = ExerciseFactory(is_published=False)
    client = api_as("student_a")
    assert hidden.slug not in [e["slug"] for e in client.get("/api/v1/exercises/").json()]
    assert client.get(f"/api/v1/exercises/{hidden.slug}/").status_code == 404


def test_a_regrade_is_a_new_run_that_costs_the_student_nothing(
    world: World, api_as: Callable[[str], APIClient], settings
) -> None:
    # The world's own submission was made this minute: one more is allowed, no more.
    settings.TALLER_SUBMISSIONS_PER_MINUTE = 2
    original = world.submission
    response = api_as("instructor").post(f"/api/v1/submissions/{original.pk}/regrade/")
    assert response.status_code == 202
    regrade = Submission.objects.get(pk=response.json()["id"])
    assert regrade.regrade_of == original and regrade.attempt == original.attempt
    assert regrade.files == original.files and regrade.status == "queued"
    assert regrade.student == original.student and regrade.cohort == original.cohort
    # Its run in flight neither blocks nor uses up the student's own quota.
    again = submit(api_as("student_a"), world.exercise.slug, files())
    assert again.status_code == 202 and again.json()["attempt"] == 2
    # A run still in flight cannot be regraded yet.
    busy = api_as("admin").post(f"/api/v1/submissions/{regrade.pk}/regrade/")
    assert busy.status_code == 409


def test_the_gradebook_has_the_best_score_per_student_and_exercise(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    SubmissionFactory(
        student=world.users["student_a"],
        exercise=world.exercise,
        cohort=world.cohort,
        status="passed",
        score=2,
        max_score=2,
    )
    SubmissionFactory(
        student=world.users["student_b"],
        exercise=world.exercise,
        cohort=world.cohort,
        status="internal-error",
        score=0,
        max_score=2,
    )
    data = api_as("instructor").get(f"/api/v1/cohorts/{world.cohort.pk}/gradebook/").json()
    assert [e["exercise"] for e in data["exercises"]] == [world.exercise.slug]
    assert data["exercises"][0]["deadline"] is None
    rows = {r["student"]["username"]: r for r in data["students"]}
    assert rows["ana"]["scores"][world.exercise.slug] == {
        "best_score": 2.0,
        "max_score": 2.0,
        "attempts": 2,
        "late": None,  # no deadline for this cohort
        "raw_score": 2.0,
        "days_late": 0,
        "penalty_percent": 0.0,
        "accepted": True,
        "best_raw_score": 2.0,
    }
    assert rows["beto"]["scores"][world.exercise.slug]["best_score"] is None
    assert rows["ana"]["total"] == 2.0


def test_the_gradebook_applies_the_late_policy_to_a_best_score_reached_late(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from taller.cohorts.models import CohortExercise

    deadline = timezone.now() - timedelta(days=1)
    CohortExercise.objects.create(cohort=world.cohort, exercise=world.exercise, deadline=deadline)
    # ana's 1/2 came after the deadline; beto's 2/2 before it, then a worse one after.
    on_time = SubmissionFactory(
        student=world.users["student_b"],
        exercise=world.exercise,
        cohort=world.cohort,
        status="passed",
        score=2,
        max_score=2,
    )
    Submission.objects.filter(pk=on_time.pk).update(submitted_at=deadline - timedelta(hours=1))
    SubmissionFactory(
        student=world.users["student_b"],
        exercise=world.exercise,
        cohort=world.cohort,
        status="failed",
        score=1,
        max_score=2,
    )
    data = api_as("instructor").get(f"/api/v1/cohorts/{world.cohort.pk}/gradebook/").json()
    assert data["exercises"][0]["deadline"] is not None
    rows = {r["student"]["username"]: r["scores"][world.exercise.slug] for r in data["students"]}
    # Less than a day late: the cohort's 10 % off.
    assert rows["ana"]["late"] is True and rows["ana"]["raw_score"] == 1
    assert rows["ana"]["days_late"] == 1 and rows["ana"]["penalty_percent"] == 10
    assert rows["ana"]["best_score"] == 0.9
    assert rows["beto"]["late"] is False and rows["beto"]["best_score"] == 2


def test_large_ids_are_not_found_not_errors(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    client = api_as("admin")
    assert client.get(f"/api/v1/submissions/{2**70}/").status_code == 404
    assert client.get(f"/api/v1/cohorts/{2**70}/gradebook/").status_code == 404
    params = {"student": 2**70}
    response = client.get(f"/api/v1/cohorts/{world.cohort.pk}/submissions/", params)
    assert response.status_code == 400


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="grading needs bubblewrap")
def test_a_regrade_is_graded_for_real_with_the_current_version(
    course: None, django_capture_on_commit_callbacks, repo: Path
) -> None:
    from rest_framework_simplejwt.tokens import RefreshToken

    from taller.accounts.roles import Role
    from tests.factories import UserFactory

    exercise = Exercise.objects.get(slug="rest-api")
    code = (repo / "exercises/rest-api/solution/server.js").read_text()
    original = SubmissionFactory(
        exercise=exercise, files={"server.js": code}, status="failed", score=0, max_score=1
    )
    client = APIClient()
    token = RefreshToken.for_user(UserFactory(role=Role.ADMIN)).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/submissions/{original.pk}/regrade/")
    assert response.status_code == 202
    regrade = Submission.objects.get(pk=response.json()["id"])
    assert regrade.status == "passed" and regrade.grader_version == exercise.current_version
    detail = client.get(f"/api/v1/submissions/{regrade.pk}/").json()
    assert detail["regrade_of"] == original.pk and detail["results"]["status"] == "passed"
    original.refresh_from_db()
    assert original.status == "failed"  # the original keeps its own verdict


@pytest.mark.parametrize(
    ("payload", "spanish", "english"),
    [
        ({}, "La entrega no tiene archivos.", "The submission has no files."),
        (
            {f"f{i}.js": "" for i in range(21)},
            "Demasiados archivos: 21 (máximo 20).",
            "Too many files: 21 (at most 20).",
        ),
        (
            {"server.js": "x" * (256 * 1024 + 1)},
            "server.js: 262145 bytes, más que el máximo de 262144.",
            "server.js: 262145 bytes, more than the maximum of 262144.",
        ),
    ],
)
def test_a_refusal_comes_in_the_language_the_request_asks_for(
    world: World,
    api_as: Callable[[str], APIClient],
    payload: dict[str, str],
    spanish: str,
    english: str,
) -> None:
    client = api_as("student_b")
    body = {"exercise": world.exercise.slug, "files": payload}
    assert client.post("/api/v1/submissions/", body).json()["detail"] == spanish
    asked = client.post("/api/v1/submissions/", body, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
    assert (asked.status_code, asked.json()["detail"]) == (400, english)
    assert asked["Content-Language"] == "en"
    query = client.post("/api/v1/submissions/?lang=en", body)
    assert query.json()["detail"] == english


def test_the_rate_limit_and_a_missing_exercise_speak_english_when_asked(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    client = api_as("student_b")
    body = {"exercise": "no-existe", "files": files()}
    response = client.post("/api/v1/submissions/", body, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["detail"] == "There is no such exercise."
    assert submit(client, world.exercise.slug, files()).status_code == 202
    body = {"exercise": world.exercise.slug, "files": files()}
    response = client.post("/api/v1/submissions/", body, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("You already have a submission being graded")


def test_a_refusal_names_its_code_beside_its_words(
    world: World, api_as: Callable[[str], APIClient]
) -> None:
    client = api_as("student_b")
    too_many = submit(client, world.exercise.slug, {f"f{i}.js": "" for i in range(21)})
    assert (too_many.status_code, too_many.json()["code"]) == (400, "max_files")
    absolute = submit(client, world.exercise.slug, {"/etc/passwd": "x"})
    assert (absolute.status_code, absolute.json()["code"]) == (400, "absolute")
    assert submit(client, world.exercise.slug, files()).status_code == 202
    busy = client.post(
        "/api/v1/submissions/",
        {"exercise": world.exercise.slug, "files": files()},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert (busy.status_code, busy.json()["code"], busy["Retry-After"]) == (429, "in_flight", "5")
    assert busy.json()["detail"].startswith("You already have a submission being graded")
    queued = Submission.objects.filter(student=world.users["student_b"]).get()
    regrade = api_as("admin").post(
        f"/api/v1/submissions/{queued.pk}/regrade/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert (regrade.status_code, regrade.json()["code"]) == (409, "still_grading")
    assert regrade.json()["detail"].startswith("The submission is still being graded")
