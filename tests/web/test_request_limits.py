"""A form past Django's limits is answered as the site answers: JSON for fetch, a page
otherwise; never Django's bare 400 or the debug page, and nothing stored."""

from __future__ import annotations

import pytest
from django.test import Client

from taller.submissions.models import Submission
from tests.factories import ExerciseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in() -> Client:
    client = Client()
    client.force_login(UserFactory())
    return client


def too_many_fields() -> dict[str, str]:
    return {f"file:f{i}.js": "x" for i in range(1001)}


def too_big() -> dict[str, str]:
    return {"file:server.js": "x" * 3_000_000}


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [(too_many_fields, 400, "demasiados campos"), (too_big, 413, "demasiado grande")],
)
def test_the_editors_fetch_gets_json(signed_in: Client, form, status: int, says: str) -> None:
    exercise = ExerciseFactory()
    response = signed_in.post(
        f"/ejercicios/{exercise.slug}/", form(), headers={"Accept": "application/json"}
    )
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert says in response.json()["error"]
    assert not Submission.objects.exists()


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [(too_many_fields, 400, "demasiados campos"), (too_big, 413, "demasiado grande")],
)
def test_a_plain_form_gets_a_page(signed_in: Client, form, status: int, says: str) -> None:
    exercise = ExerciseFactory()
    response = signed_in.post(f"/ejercicios/{exercise.slug}/", form())
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert says in page and "<main" in page
    assert not Submission.objects.exists()


def test_the_page_speaks_english_when_asked(signed_in: Client) -> None:
    signed_in.cookies["django_language"] = "en"
    response = signed_in.post("/ejercicios/x/", too_many_fields())
    assert response.status_code == 400
    assert "too many fields" in response.content.decode()


def test_a_form_to_the_api_is_refused_unread_in_json(signed_in: Client) -> None:
    response = signed_in.post("/api/v1/submissions/", too_many_fields())
    assert response.status_code == 415
    assert response.json()["detail"]


def test_a_form_that_cannot_be_read_gets_a_page(signed_in: Client) -> None:
    response = signed_in.post("/ejercicios/x/", b"--nada--", content_type="multipart/form-data")
    assert response.status_code == 400
    assert "no se pudo leer" in response.content.decode()
