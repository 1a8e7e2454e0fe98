"""The API's regrade takes a grader version, like the instructors' pages."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.test import APIClient

from taller.submissions.models import Submission
from tests.api.world import World
from tests.factories import ExerciseFactory, GraderVersionFactory


def test_a_regrade_can_use_a_chosen_valid_or_published_version(
    world: World, api_as: Callable[[str], APIClient], django_capture_on_commit_callbacks
) -> None:
    exercise = world.exercise
    valid = GraderVersionFactory(exercise=exercise, state="valid")
    draft = GraderVersionFactory(exercise=exercise, state="draft")
    elsewhere = ExerciseFactory().current_version
    url = f"/api/v1/submissions/{world.submission.pk}/regrade/"
    client = api_as("instructor")
    with django_capture_on_commit_callbacks(execute=False):
        for number in (draft.number, elsewhere.number, 999):
            refused = client.post(url, {"grader_version": number}, format="json")
            assert refused.status_code == 409
            assert "no es válida ni publicada" in refused.json()["detail"]
        assert client.post(url, {"grader_version": 0}, format="json").status_code == 400
        assert not Submission.objects.filter(regrade_of=world.submission).exists()
        chosen = client.post(url, {"grader_version": valid.number}, format="json")
        current = client.post(url)
    assert chosen.status_code == current.status_code == 202
    assert Submission.objects.get(pk=chosen.json()["id"]).grader_version == valid
    assert Submission.objects.get(pk=current.json()["id"]).grader_version == (
        exercise.current_version
    )
