"""A cohort's late policy, as one pure function the gradebook, the CSV and the pages share.

The rule: an attempt made after its exercise's deadline loses the cohort's penalty
percentage for every day it is late, a started day counting as a whole one; the
percentage is taken off the score that attempt earned (10/10 two days late at 10 % a
day is 8; 5/10 is 4), never below 0. An attempt more than `days_accepted` days late is
not accepted: it counts 0. Submitting exactly at the deadline is on time.

Which time is an attempt's? The one the student submitted the code at. A regrade is
the staff running the same files again with a newer grader, often after the deadline:
it counts at its original attempt's time, so a regrade neither makes an on-time attempt
late nor a late one on time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LateOutcome:
    raw: float
    effective: float
    # Started days after the deadline; 0 on time or without a deadline.
    days_late: int
    # What was taken off the raw score, 0..100 (100 when not accepted).
    penalty_percent: float
    accepted: bool

    @property
    def late(self) -> bool:
        return self.days_late > 0


def late_policy_apply(
    *,
    score: float,
    submitted_at: datetime,
    deadline: datetime | None,
    penalty_percent_per_day: Decimal | float,
    days_accepted: int,
) -> LateOutcome:
    """The score an attempt counts for under a cohort's late policy."""
    if deadline is None or submitted_at <= deadline:
        return LateOutcome(
            raw=score, effective=score, days_late=0, penalty_percent=0.0, accepted=True
        )
    days_late = math.ceil((submitted_at - deadline) / DAY)
    if days_late > days_accepted:
        return LateOutcome(
            raw=score, effective=0.0, days_late=days_late, penalty_percent=100.0, accepted=False
        )
    penalty = min(100.0, days_late * float(penalty_percent_per_day))
    # Rounded so 10 * 0.7 reads 7, not 6.999999999999999.
    effective = max(0.0, round(score * (100.0 - penalty) / 100.0, 6))
    return LateOutcome(
        raw=score, effective=effective, days_late=days_late, penalty_percent=penalty, accepted=True
    )
