from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taller.grading.selectors import queue_position
from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def test_a_waiting_runs_place_counts_the_runs_queued_before_it_on_its_own_queue() -> None:
    now = timezone.now()

    def queued(minutes_ago: float, queue: str = "grading", status: str = "queued"):  # type: ignore[no-untyped-def]
        return SubmissionFactory(
            status=status, queue=queue, queued_at=now - timedelta(minutes=minutes_ago)
        )

    first, second = queued(10), queued(5)
    queued(8, queue="ssr")  # another queue, other workers
    queued(9, status="running")  # picked up already
    mine = queued(1)

    assert [queue_position(s) for s in (first, second, mine)] == [1, 2, 3]
    assert queue_position(SubmissionFactory(status="passed", queued_at=now)) is None
    assert queue_position(SubmissionFactory(status="queued", queued_at=None)) is None
