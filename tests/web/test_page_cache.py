"""The exercise page reads its exercise through the cache: every change shows at once,
and a cache server that is down costs nothing but speed."""

from __future__ import annotations

import socket

import pytest
from django.test import Client, override_settings

from taller.courses.models import Exercise, GraderVersion
from taller.courses.services import grader_version_publish
from taller.settings.base import redis_cache
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PAGE = "/ejercicios/rest-api/"


@pytest.fixture
def student_client(client: Client) -> Client:
    client.force_login(UserFactory())
    return client


def test_a_newly_published_version_is_on_the_page_at_once(
    student_client: Client, course: None, django_capture_on_commit_callbacks
) -> None:
    assert "Nota del instructor" not in student_client.get(PAGE).content.decode()
    current = Exercise.objects.get(slug="rest-api").current_version
    assert current is not None
    fields = {
        f.name: getattr(current, f.name)
        for f in GraderVersion._meta.concrete_fields
        if f.name not in ("id", "number", "created_at", "state")
    }
    fields["statement_es"] = current.statement_es + "\n\nNota del instructor: lean el README.\n"
    fields["content_hash"] = "e" * 64
    new = GraderVersion.objects.create(
        **fields, number=current.number + 1, state=GraderVersion.State.VALID
    )
    with django_capture_on_commit_callbacks(execute=True):
        grader_version_publish(new.pk)
    assert "Nota del instructor" in student_client.get(PAGE).content.decode()


def test_an_unpublished_exercise_is_gone_at_once(student_client: Client, course: None) -> None:
    assert student_client.get(PAGE).status_code == 200
    exercise = Exercise.objects.get(slug="rest-api")
    exercise.is_published = False
    exercise.save()
    assert student_client.get(PAGE).status_code == 404


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_with_the_cache_server_down_students_still_sign_in_and_work(
    client: Client, course: None
) -> None:
    dead = redis_cache(f"redis://127.0.0.1:{closed_port()}/0")
    with override_settings(CACHES={"default": dead}):
        client.force_login(UserFactory())
        page = client.get(PAGE)
        assert page.status_code == 200
        assert "Una API REST de tareas con Express" in page.content.decode()
        # The session lives in the database too: the next request is still signed in.
        assert client.get("/curso/").status_code == 200
