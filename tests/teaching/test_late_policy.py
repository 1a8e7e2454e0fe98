"""The late policy: what a late attempt is worth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from taller.cohorts.late_policy import late_policy_apply

DEADLINE = datetime(2026, 3, 1, 23, 59, tzinfo=UTC)


def apply(score: float, at: datetime, deadline: datetime | None = DEADLINE, **policy: object):
    return late_policy_apply(
        score=score,
        submitted_at=at,
        deadline=deadline,
        penalty_percent_per_day=policy.get("percent", Decimal("10")),
        days_accepted=policy.get("days", 3),
    )


def test_on_time_and_exactly_at_the_deadline_keep_the_score() -> None:
    for at in (DEADLINE - timedelta(days=2), DEADLINE):
        outcome = apply(7.5, at)
        assert (outcome.effective, outcome.days_late, outcome.penalty_percent) == (7.5, 0, 0)
        assert outcome.accepted and not outcome.late


def test_without_a_deadline_nothing_is_late() -> None:
    outcome = apply(4, DEADLINE + timedelta(days=400), deadline=None)
    assert outcome.effective == 4 and not outcome.late and outcome.accepted


@pytest.mark.parametrize(
    ("late_by", "days", "effective"),
    [
        (timedelta(seconds=1), 1, 9),  # a started day is a whole day
        (timedelta(days=1), 1, 9),
        (timedelta(days=1, seconds=1), 2, 8),
        (timedelta(days=3), 3, 7),
    ],
)
def test_each_started_day_late_takes_the_percentage_off(
    late_by: timedelta, days: int, effective: float
) -> None:
    outcome = apply(10, DEADLINE + late_by)
    assert outcome.days_late == days and outcome.late and outcome.accepted
    assert outcome.penalty_percent == days * 10
    assert outcome.effective == effective


def test_the_percentage_is_of_the_score_earned() -> None:
    assert apply(5, DEADLINE + timedelta(hours=30)).effective == 4


def test_more_days_late_than_accepted_counts_zero() -> None:
    outcome = apply(10, DEADLINE + timedelta(days=3, minutes=1))
    assert outcome.days_late == 4 and not outcome.accepted
    assert outcome.effective == 0 and outcome.raw == 10


def test_a_penalty_over_everything_floors_at_zero() -> None:
    outcome = apply(10, DEADLINE + timedelta(days=2), percent=Decimal("75"), days=5)
    assert outcome.accepted and outcome.penalty_percent == 100 and outcome.effective == 0


def test_no_days_accepted_refuses_anything_late() -> None:
    assert not apply(10, DEADLINE + timedelta(minutes=1), days=0).accepted
    assert apply(10, DEADLINE, days=0).effective == 10
