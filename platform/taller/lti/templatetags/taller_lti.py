"""The platform status page's LMS section (scores owed to LMS platforms, per cohort)."""

from __future__ import annotations

from typing import Any

from django import template

from taller.lti import selectors

register = template.Library()


@register.inclusion_tag("lti/_status.html")
def lti_score_status() -> dict[str, Any]:
    return {"status": selectors.scores_owed_by_cohort()}
