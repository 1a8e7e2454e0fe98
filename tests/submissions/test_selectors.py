from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taller.submissions.models import Submission
from taller.submissions.selectors import attempt_rows, student_attempts
from tests.factories import ExerciseFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_attempts_table_rows_are_the_students_own_newest_first_as_the_orm_orders_them() -> None:
    """attempt_rows is written out in SQL for speed: it must list what student_attempts
    lists, in its order (two attempts in the same instant: the later one first)."""
    exercise, elsewhere = ExerciseFactory(), ExerciseFactory()
    ana, beto = UserFactory(), UserFactory()
    mine = [
        SubmissionFactory(student=ana, exercise=exercise, attempt=n, score=n, max_score=10)
        for n in (1, 2, 3, 4)
    ]
    now = timezone.now()
    for submission, minutes_ago in zip(mine, (30, 5, 5, 20), strict=True):
        Submission.objects.filter(pk=submission.pk).update(
            submitted_at=now - timedelta(minutes=minutes_ago)
        )
    SubmissionFactory(student=beto, exercise=exercise)
    SubmissionFactory(student=ana, exercise=elsewhere)

    rows = attempt_rows(student=ana, exercise=exercise, limit=3)

    expected = list(student_attempts(student=ana, exercise=exercise)[:3])
    assert [row.attempt for row in rows] == [3, 2, 4]
    assert [row.pk for row in rows] == [s.pk for s in expected]
    assert [(row.status, row.score, row.max_score, row.submitted_at) for row in rows] == [
        (s.status, s.score, s.max_score, s.submitted_at) for s in expected
    ]
    assert all(timezone.is_aware(row.submitted_at) for row in rows)
    assert attempt_rows(student=beto, exercise=elsewhere) == []
